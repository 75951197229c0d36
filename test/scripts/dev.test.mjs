// `npm run dev -- <args>`: what scripts/dev.mjs hands to `wrangler dev` (in Node, `npm run test:e2e`).
import { describe, expect, it } from "vitest";
import { portOf, wranglerDevArgs } from "../../scripts/dev.mjs";

const CONFIG = "/repo/wrangler.dev.jsonc";

describe("npm run dev", () => {
  it("passes its arguments to wrangler dev, after the dev config", () => {
    expect(wranglerDevArgs(CONFIG, ["--var", "VAPI_FREE_NUMBER_LIMIT:1"], { GOOGLE_REDIRECT_URI: "http://x.test/cb" })).toEqual([
      "dev",
      "--config",
      CONFIG,
      "--test-scheduled",
      "--var",
      "VAPI_FREE_NUMBER_LIMIT:1",
    ]);
  });

  it("Google's redirect follows the port when .dev.vars sets none", () => {
    for (const [args, port] of [
      [[], "8787"],
      [["--port", "8790"], "8790"],
      [["--port=8791", "--local"], "8791"],
    ]) {
      expect(portOf(args)).toBe(port);
      expect(wranglerDevArgs(CONFIG, args, {})).toEqual([
        "dev",
        "--config",
        CONFIG,
        "--test-scheduled",
        "--var",
        `GOOGLE_REDIRECT_URI:http://localhost:${port}/api/calendar/google/callback`,
        ...args,
      ]);
    }
  });

  it("a GOOGLE_REDIRECT_URI in .dev.vars is kept, whatever the port", () => {
    const args = wranglerDevArgs(CONFIG, ["--port", "8790"], { GOOGLE_REDIRECT_URI: "http://localhost:8787/api/calendar/google/callback" });
    expect(args.join(" ")).not.toContain("GOOGLE_REDIRECT_URI");
  });
});
