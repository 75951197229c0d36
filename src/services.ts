import { createDb, type Db, RequestCost } from "./db/client";
import type { Env } from "./env";
import type { AlertOptions } from "./features/alerts/alerts";
import { createOrgNumberSource } from "./features/numbers/twilio-source";
import type { OrgNumberSource } from "./features/numbers/acquisition";
import { loadTwilioCredentials } from "./features/organization/twilio-settings";
import type { TrackerStatus, TrackingRequest } from "./features/provisioning/tracker";
import { callCounterOf, type CallCounterClient } from "./features/routing/call-counter";
import { trackerStarter, trackerStub } from "./features/provisioning/tracker";
import { createAlertWebhook, createGoogle, createTwilio, createUpstreams, missingGoogleSettings } from "./integrations/index";
import type { GoogleClient } from "./integrations/google";
import type { TwilioClient, TwilioCredentials } from "./integrations/twilio";
import { SANDBOX_GOOGLE_AUTHORIZE_PATH } from "./integrations/sandbox";
import type { VapiClient } from "./integrations/vapi";
import { lazySecretBox, type SecretBox } from "./platform/crypto";
import type { Logger } from "./platform/log";
import type { Settings } from "./platform/settings";

/**
 * Everything the rules use, built once per request, cron run or alarm (docs/architecture.md, "Services"). Rules
 * take the part they need (`Pick<Services, …>`), so they are tested without HTTP. Clients are built on first use:
 * a request pays only for what it touches (a list of assistants builds no upstream client and opens no key).
 */
export interface Services {
  readonly settings: Settings;
  readonly log: Logger;
  readonly db: Db;
  readonly cost: RequestCost;
  /** Where Vapi sends this deployment's webhooks. */
  readonly webhookUrl: string;
  readonly vapi: VapiClient;
  /** Null when the Google OAuth client is not configured (see `missingGoogleSettings`). */
  readonly google: GoogleClient | null;
  /** AES-GCM for secrets at rest, bound to their organisation. */
  readonly box: SecretBox;
  twilioFor(credentials: TwilioCredentials): TwilioClient;
  /** A Twilio client for the organisation's own account, or null when it has none configured. */
  twilioForOrg(orgId: string): Promise<TwilioClient | null>;
  /** The organisation's own Twilio numbers, the third source of the pool. */
  readonly orgNumbers: OrgNumberSource;
  startTracking(request: TrackingRequest): Promise<void>;
  resumeTracker(key: string, request: TrackingRequest): Promise<{ rearmed: boolean }>;
  stopTracker(key: string, reason: TrackerStatus): Promise<void>;
  /** The account's live calls: admissions and call events (a Durable Object). */
  readonly calls: CallCounterClient;
  readonly alerts: AlertOptions;
  /**
   * Runs `task` after the response (the request's or cron run's `waitUntil`), else awaits it. The task gets
   * services of its own, so its D1 and upstream calls are not counted as the request's (`X-D1-Round-Trips`,
   * `X-Upstream-Calls`). A failure is logged (`background_task_failed`), never thrown.
   */
  inBackground(task: (services: Services) => Promise<unknown>): Promise<void>;
}

interface ServicesScope {
  env: Env;
  settings: Settings;
  log: Logger;
  /** This deployment's public base URL (PUBLIC_URL, else the request's origin). */
  publicUrl: string;
  cost?: RequestCost;
  /** `ctx.waitUntil` of the request or cron run: alert posts finish there instead of being awaited. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export function createServices(scope: ServicesScope): Services {
  const { env, settings, log } = scope;
  const cost = scope.cost ?? new RequestCost();
  const publicUrl = scope.publicUrl.replace(/\/+$/, "");
  const db = createDb(env.DB, cost);
  const once = <T>(make: () => T) => {
    let made: { value: T } | undefined;
    return () => {
      made ??= { value: make() };
      return made.value;
    };
  };
  const vapi = once(() => createUpstreams(env, settings, log, cost).vapi);
  const google = once(() => {
    if (missingGoogleSettings(settings).length > 0) return null;
    const client = createGoogle(env, settings, log, cost);
    if (settings.UPSTREAM_MODE !== "sandbox") return client;
    // The browser cannot reach the simulated Google: send it to the sandbox's consent stand-in instead.
    const consentPage = `${publicUrl}${SANDBOX_GOOGLE_AUTHORIZE_PATH}`;
    return { ...client, authorizationUrl: (options) => consentPage + new URL(client.authorizationUrl(options)).search };
  });
  const box = lazySecretBox(settings.ENCRYPTION_KEY, settings.ENCRYPTION_KEY_PREVIOUS);
  const twilioFor = (credentials: TwilioCredentials) => createTwilio(env, settings, log, credentials, cost);
  const orgNumbers = once(() => createOrgNumberSource({ box, twilioFor }));
  const alerts = once(() => ({ notifier: createAlertWebhook(env, settings, log, cost), waitUntil: scope.waitUntil }));
  const startTracking = trackerStarter(env);
  const inBackground = async (task: (services: Services) => Promise<unknown>) => {
    const run = Promise.resolve()
      .then(() => task(createServices({ ...scope, cost: new RequestCost() })))
      .then(
        () => undefined,
        (error) => log.error("background_task_failed", { error }),
      );
    if (scope.waitUntil) scope.waitUntil(run);
    else await run;
  };
  return {
    settings,
    log,
    db,
    cost,
    webhookUrl: `${publicUrl}/webhooks/vapi`,
    get vapi() {
      return vapi();
    },
    get google() {
      return google();
    },
    box,
    twilioFor,
    twilioForOrg: async (orgId) => {
      const loaded = await loadTwilioCredentials(db, box, orgId);
      return loaded ? twilioFor(loaded.credentials) : null;
    },
    get orgNumbers() {
      return orgNumbers();
    },
    startTracking,
    resumeTracker: async (key, request) => ({ rearmed: (await trackerStub(env, key).start(request)).rearmed }),
    stopTracker: (key, reason) => trackerStub(env, key).stop(reason),
    calls: callCounterOf(env),
    get alerts() {
      return alerts();
    },
    inBackground,
  };
}
