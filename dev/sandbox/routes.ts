import { Hono } from "hono";
import type { AppEnv } from "../../src/platform/context";
import { ApiError } from "../../src/platform/errors";
import { SANDBOX_GOOGLE_AUTHORIZE_PATH } from "../../src/integrations/sandbox";
import type { DevEnv } from "../env";
import { sandboxStub } from "./upstream-sandbox";

/**
 * Development-only routes, answered only when UPSTREAM_MODE=sandbox: the simulated Google grants consent at
 * once (or as told with googleSetConsent) and sends the browser back to GOOGLE_REDIRECT_URI.
 */
export const sandboxRouter = new Hono<AppEnv>().get(SANDBOX_GOOGLE_AUTHORIZE_PATH, async (c) => {
  if (c.var.settings.UPSTREAM_MODE !== "sandbox") {
    throw new ApiError(404, "not_found", `There is no route GET ${c.req.path}. See /docs for the API.`);
  }
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
