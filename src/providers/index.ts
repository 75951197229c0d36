import type { RequestCost } from "../db/client";
import type { Env } from "../env";
import type { Logger } from "../lib/log";
import type { Settings } from "../lib/settings";
import { SANDBOX_SERVICE_HEADER, sandboxStub } from "../sandbox/upstream-sandbox";
import type { FetchLike, UpstreamService, UpstreamTransport } from "./http";
import { createTwilioClient, type TwilioClient, type TwilioCredentials } from "./twilio";
import { createVapiClient, type VapiClient } from "./vapi";

export interface Upstreams {
  vapi: VapiClient;
}

/**
 * The upstream clients for one request (or alarm, or cron run). In sandbox mode the same clients talk, through
 * the same code, to the in-process simulator instead of the network.
 */
export function createUpstreams(env: Env, settings: Settings, log: Logger, cost?: RequestCost): Upstreams {
  return {
    vapi: createVapiClient(transportFor("vapi", env, settings, log, cost), settings.VAPI_API_URL, settings.VAPI_API_KEY),
  };
}

/** A Twilio client for one organisation's account (credentials come from the organisation, not from settings). */
export function createTwilio(env: Env, settings: Settings, log: Logger, credentials: TwilioCredentials, cost?: RequestCost): TwilioClient {
  return createTwilioClient(transportFor("twilio", env, settings, log, cost), settings.TWILIO_API_URL, credentials);
}

export function transportFor(service: UpstreamService, env: Env, settings: Settings, log: Logger, cost?: RequestCost): UpstreamTransport {
  return {
    fetch: upstreamFetch(service, env, settings),
    timeoutMs: settings.UPSTREAM_TIMEOUT_MS,
    maxRetries: settings.UPSTREAM_MAX_RETRIES,
    retryBaseMs: settings.UPSTREAM_RETRY_BASE_MS,
    log,
    onCall: cost ? (s) => cost.countUpstream(s) : undefined,
  };
}

function upstreamFetch(service: UpstreamService, env: Env, settings: Settings): FetchLike {
  if (settings.UPSTREAM_MODE === "live") return (request) => fetch(request);
  return (request) => {
    const routed = new Request(request);
    routed.headers.set(SANDBOX_SERVICE_HEADER, service);
    return sandboxStub(env).fetch(routed);
  };
}
