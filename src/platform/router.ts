import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { ApiError, zodIssuesToDetails } from "./errors";

/** A router whose validation failures become the one error shape, listing each field's problem. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    strict: true,
    defaultHook: (result) => {
      if (!result.success) {
        const details = zodIssuesToDetails(result.error.issues);
        const summary = details
          .slice(0, 3)
          .map((d) => `${d.path}: ${d.message}`)
          .join("; ");
        throw new ApiError(400, "invalid_request", `The request is not valid: ${summary}${details.length > 3 ? "; …" : ""}.`, details);
      }
    },
  });
}
