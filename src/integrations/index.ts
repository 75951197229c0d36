import type { RequestCost } from "../db/client";
import type { Env } from "../env";
import type { Logger } from "../platform/log";
import type { Settings } from "../platform/settings";
import { createAlertWebhookClient, type AlertWebhookClient } from "./alert-webhook";
import { createGoogleClient, type GoogleClient } from "./google";
import type { FetchLike, UpstreamService, UpstreamTransport } from "./http";
import { sandboxFetch } from "./sandbox";
import { createTwilioClient, type TwilioClient, type TwilioCredentials } from "./twilio";
import { createVapiClient, type VapiClient } from "./vapi";

interface Upstreams {
  vapi: VapiClient;
}

/**
 * The upstream clients for one request (or alarm, or cron run). In sandbox mode the same clients talk, through
 * the same code, to the in-process simulator the dev entry binds (./sandbox.ts) instead of the network.
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

const GOOGLE_CLIENT_SETTINGS = ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_REDIRECT_URI"] as const;

/** The Google OAuth client settings that are not set (empty when Google Calendar can be connected). */
export function missingGoogleSettings(settings: Settings): string[] {
  return GOOGLE_CLIENT_SETTINGS.filter((name) => !settings[name]);
}

/** The Google client (OAuth and Calendar); throws when the OAuth client is not configured: check `missingGoogleSettings` first. */
export function createGoogle(env: Env, settings: Settings, log: Logger, cost?: RequestCost): GoogleClient {
  const missing = missingGoogleSettings(settings);
  if (missing.length > 0) throw new Error(`Google Calendar is not configured: set ${missing.join(", ")}`);
  return createGoogleClient(
    transportFor("google", env, settings, log, cost),
    {
      oauthUrl: settings.GOOGLE_OAUTH_URL,
      tokenUrl: settings.GOOGLE_TOKEN_URL,
      revokeUrl: settings.GOOGLE_REVOKE_URL,
      jwksUrl: settings.GOOGLE_JWKS_URL,
      apiUrl: settings.GOOGLE_API_URL,
    },
    { clientId: settings.GOOGLE_CLIENT_ID!, clientSecret: settings.GOOGLE_CLIENT_SECRET!, redirectUri: settings.GOOGLE_REDIRECT_URI! },
  );
}

/** The operators' alert webhook, or null when ALERT_WEBHOOK_URL is not set. */
export function createAlertWebhook(env: Env, settings: Settings, log: Logger, cost?: RequestCost): AlertWebhookClient | null {
  if (!settings.ALERT_WEBHOOK_URL) return null;
  return createAlertWebhookClient(transportFor("alerts", env, settings, log, cost), settings.ALERT_WEBHOOK_URL);
}

function transportFor(service: UpstreamService, env: Env, settings: Settings, log: Logger, cost?: RequestCost): UpstreamTransport {
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
  return sandboxFetch(service, env);
}
