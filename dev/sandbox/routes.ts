import { Hono } from "hono";
import type { AppEnv } from "../../src/platform/context";
import { ApiError } from "../../src/platform/errors";
import { SANDBOX_GOOGLE_AUTHORIZE_PATH } from "../../src/integrations/sandbox";
import type { DevEnv } from "../env";
import { type JsonObject, sandboxStub } from "./upstream-sandbox";

/** Where `npm run bench:scale` puts a large Vapi account into the simulator (POST, JSON `{phoneNumbers, assistants}`). */
export const SANDBOX_VAPI_RESOURCES_PATH = "/sandbox/vapi/resources";

const sandboxOnly = (c: { var: AppEnv["Variables"]; req: { method: string; path: string } }) => {
  if (c.var.settings.UPSTREAM_MODE !== "sandbox") {
    throw new ApiError(404, "not_found", `There is no route ${c.req.method} ${c.req.path}. See /docs for the API.`);
  }
};

/**
 * Development-only routes, answered only when UPSTREAM_MODE=sandbox: the simulated Google grants consent at
 * once (or as told with googleSetConsent) and sends the browser back to GOOGLE_REDIRECT_URI; and a large Vapi
 * account is put into the simulator in a few requests.
 */
export const sandboxRouter = new Hono<AppEnv>()
  .post(SANDBOX_VAPI_RESOURCES_PATH, async (c) => {
    sandboxOnly(c);
    const body = await c.req.json<{ phoneNumbers?: JsonObject[]; assistants?: JsonObject[] }>();
    return c.json({ put: await sandboxStub(c.env as DevEnv).putVapiResources(body) });
  })
  .get(SANDBOX_GOOGLE_AUTHORIZE_PATH, async (c) => {
    sandboxOnly(c);
    const googleUrl = new URL(c.var.settings.GOOGLE_OAUTH_URL);
    googleUrl.search = new URL(c.req.url).search;
    const outcome = await sandboxStub(c.env as DevEnv).googleAuthorizeOutcome(googleUrl.toString());
    // Google shows an error page rather than redirecting; here, the error shape with its status and reason.
    if (!("location" in outcome))
      throw new ApiError(
        outcome.status === 401 ? 401 : 400,
        `google_${outcome.error}`,
        `The sandbox's Google refused the sign-in: ${outcome.message}`,
      );
    return c.redirect(outcome.location, 302);
  });
