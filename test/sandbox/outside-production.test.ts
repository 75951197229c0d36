import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as devEntry from "../../dev/index";
import { sandboxRouter } from "../../dev/sandbox/routes";
import { createApp } from "../../src/app";
import * as productionEntry from "../../src/index";
import { loadSettings, SettingsError } from "../../src/platform/settings";
import { token } from "../helpers/api";
import { expectError } from "../helpers/assertions";

/** The environment of a production deployment configured with UPSTREAM_MODE=sandbox: no simulator is bound. */
const productionEnv = () => ({ ...env, UPSTREAM_SANDBOX: undefined });

async function callProduction(path: string) {
  const request = new Request(`https://switchboard.test${path}`, { headers: { Authorization: `Bearer ${await token()}` } });
  return productionEntry.default.fetch(request, productionEnv(), createExecutionContext());
}

describe("the simulator lives in the dev entry only", () => {
  it("the production entry exports the worker and its Durable Objects, not the simulator's", () => {
    expect(Object.keys(productionEntry).sort()).toEqual(["CallCounter", "ProvisioningTracker", "default"]);
    expect(Object.keys(devEntry).sort()).toEqual(["CallCounter", "ProvisioningTracker", "UpstreamSandbox", "default"]);
  });

  it("the production app has no sandbox route; the dev entry's app serves the consent page", () => {
    const sandboxPaths = (routes: readonly { path: string }[]) => routes.filter((r) => r.path.startsWith("/sandbox/")).map((r) => r.path);
    expect(sandboxPaths(createApp().routes)).toEqual([]);
    expect(sandboxPaths(createApp({ devRoutes: sandboxRouter }).routes).sort()).toEqual([
      "/sandbox/google/authorize",
      "/sandbox/vapi/resources",
    ]);
  });

  it("UPSTREAM_MODE=sandbox without the simulator is a configuration error naming the dev entry, on every route", async () => {
    for (const path of ["/health", "/api/assistants"]) {
      const error = await expectError(await callProduction(path), 500, "configuration_error");
      expect(error.details).toEqual({ setting: "UPSTREAM_MODE" });
      expect(error.message).toContain("exists only in the dev entry");
    }
  });

  it("loadSettings refuses sandbox mode unless UPSTREAM_SANDBOX is bound, and live mode needs nothing", () => {
    const required = {
      VAPI_API_KEY: "key",
      VAPI_WEBHOOK_SECRET: "0123456789abcdef",
      AUTH_JWT_SECRET: "x".repeat(32),
      ENCRYPTION_KEY: btoa("k".repeat(32)),
    };
    expect(() => loadSettings({ ...required, UPSTREAM_MODE: "sandbox" })).toThrow(SettingsError);
    expect(() => loadSettings({ ...required, UPSTREAM_MODE: "sandbox" })).toThrow(
      /UPSTREAM_MODE is "sandbox", but the upstream sandbox exists only in the dev entry/,
    );
    expect(loadSettings({ ...required, UPSTREAM_MODE: "sandbox", UPSTREAM_SANDBOX: env.UPSTREAM_SANDBOX }).UPSTREAM_MODE).toBe("sandbox");
    expect(loadSettings({ ...required, UPSTREAM_MODE: "live" }).UPSTREAM_MODE).toBe("live");
  });
});
