import { ApiError } from "./errors";
import { UpstreamError } from "../integrations/http";

const SERVICE_NAMES = { vapi: "Vapi", twilio: "Twilio", google: "Google", alerts: "The alert webhook" } as const;

/**
 * What the caller hears when an upstream failed while doing `action` (e.g. "create the assistant"):
 * 502 with the upstream's own words, or 503 with Retry-After when it asked us to slow down.
 */
export function upstreamFailure(error: unknown, action: string): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof UpstreamError)) {
    return new ApiError(502, "upstream_error", `Could not ${action}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  const service = SERVICE_NAMES[error.service];
  const code = `${error.service}_unavailable`;
  switch (error.failure) {
    case "timeout":
      return new ApiError(
        502,
        code,
        `${service} did not answer in time, so we could not ${action}. Try again: repeating the request is safe.`,
      );
    case "network":
      return new ApiError(
        502,
        code,
        `${service} could not be reached, so we could not ${action}. Try again: repeating the request is safe.`,
      );
    case "invalid_response":
      return new ApiError(502, `${error.service}_error`, `${service} sent an answer we could not read, so we could not ${action}.`);
    case "http":
      if (error.status === 429) {
        const retryAfter = Math.ceil(error.retryAfterSeconds ?? 30);
        return new ApiError(
          503,
          `${error.service}_rate_limited`,
          `${service} is rate limiting us; try again in ${retryAfter} seconds.`,
          undefined,
          { "Retry-After": String(retryAfter) },
        );
      }
      return new ApiError(502, `${error.service}_error`, `${service} refused to ${action} (HTTP ${error.status}): ${error.message}`, {
        upstream_status: error.status,
      });
  }
}
