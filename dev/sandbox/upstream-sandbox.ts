import { DurableObject } from "cloudflare:workers";
import type { UpstreamService } from "../../src/integrations/http";
import { SANDBOX_INSTANCE, SANDBOX_SERVICE_HEADER } from "../../src/integrations/sandbox";
import { loadSettings } from "../../src/platform/settings";
import {
  addGoogleBusy,
  expireGoogleAccessTokens,
  googleAuthorizeOutcome,
  handleGoogle,
  listGoogleEvents,
  redactGoogleBody,
  revokeAllGoogleGrants,
  setGoogleConsent,
  type AuthorizeOutcome,
  type GoogleConsent,
} from "./google-sim";
import { handleTwilio, listTwilioNumbers, markTwilioNumberTaken, seedTwilioAccount, type TwilioAccountSeed } from "./twilio-sim";
import {
  handleVapi,
  putVapiResources,
  seedActiveNumber,
  seedAssistant,
  setNumberStatus,
  type SeedAssistantOptions,
  type SeedNumberOptions,
} from "./vapi-sim";
import { SandboxStore } from "./store";

export type SandboxService = UpstreamService;

/** A fault to inject into the next `count` matching calls (used by tests and `npm run dev` experiments). */
export interface SandboxFault {
  service: SandboxService;
  method?: string;
  /** Matches when the request path starts with this. */
  pathPrefix?: string;
  count: number;
  kind: "status" | "timeout" | "malformed";
  status?: number;
  retryAfterSeconds?: number;
  /**
   * For `timeout`: act on the request first, then never answer (the upstream did it, the caller cannot know).
   * Without it, the request is lost before the upstream acts on it (recorded with status 0).
   * For `malformed`: act on the request first, then answer 200 with a body that cannot be read.
   */
  afterProcessing?: boolean;
}

/** JSON as the sandbox hands it to tests over RPC. */
type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface SandboxRequestRecord {
  id: number;
  service: SandboxService;
  method: string;
  path: string;
  status: number;
  body: JsonValue;
  at: string;
}

/**
 * The upstream simulator of Vapi (and, as their issues land, Twilio and Google). One instance holds all state in
 * its SQLite storage, so it survives requests and `wrangler dev` restarts. Providers reach it through `fetch`
 * exactly as they reach the real APIs; tests also call its RPC methods to inspect and to inject faults.
 */
export class UpstreamSandbox extends DurableObject<Record<string, unknown>> {
  private readonly store: SandboxStore;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    this.store = new SandboxStore(ctx.storage);
  }

  override async fetch(request: Request): Promise<Response> {
    const service = request.headers.get(SANDBOX_SERVICE_HEADER) as SandboxService | null;
    const url = new URL(request.url);
    // Decoded by hand: workerd warns when .text() reads a form-encoded (Twilio) body.
    const bodyText = request.method === "GET" || request.method === "HEAD" ? "" : new TextDecoder().decode(await request.arrayBuffer());
    const recorded = service === "google" ? redactGoogleBody(bodyText) : bodyText;
    const fault = this.store.takeFault(service ?? "vapi", request.method, url.pathname);
    const garbledAfterActing = fault?.kind === "malformed" && fault.afterProcessing === true;
    if (fault && fault.kind !== "timeout" && !garbledAfterActing) {
      this.store.recordRequest(
        service ?? "vapi",
        request.method,
        url.pathname + url.search,
        recorded,
        fault.kind === "malformed" ? 200 : (fault.status ?? 500),
      );
      return faultResponse(fault);
    }

    const settings = loadSettings(this.env);
    if (fault?.kind === "timeout" && !fault.afterProcessing) {
      // Lost before the upstream acted on it: nothing happens, and no answer comes in time (status 0: none).
      this.store.recordRequest(service ?? "vapi", request.method, url.pathname + url.search, recorded, 0);
      await answerTooLate(settings);
      return Response.json({ message: "Gateway Timeout", error: "Sandbox Fault", statusCode: 504 }, { status: 504 });
    }
    let response: Response;
    switch (service) {
      case "vapi":
        response = await handleVapi(this.store, settings, request, url, bodyText);
        break;
      case "twilio":
        response = await handleTwilio(this.store, settings, request, url, bodyText);
        break;
      case "google":
        response = await handleGoogle(this.store, settings, request, url, bodyText);
        break;
      case "alerts":
        // The operators' webhook: recorded (see `requests("alerts")`) and answered as Slack does.
        response = new Response("ok", { status: 200 });
        break;
      default:
        response = Response.json({ message: `The sandbox does not simulate ${service ?? "this service"} yet.` }, { status: 501 });
    }
    this.store.recordRequest(service ?? "unknown", request.method, url.pathname + url.search, recorded, response.status);

    if (fault?.kind === "timeout") await answerTooLate(settings);
    if (garbledAfterActing) return faultResponse(fault);
    return response;
  }

  /** Forgets everything: simulated resources, the request log, faults and the clock offset. */
  reset(): void {
    this.store.reset();
  }

  injectFault(fault: SandboxFault): void {
    this.store.addFault(fault);
  }

  clearFaults(): void {
    this.store.clearFaults();
  }

  requests(service?: SandboxService): SandboxRequestRecord[] {
    return this.store.listRequests(service);
  }

  clearRequests(): void {
    this.store.clearRequests();
  }

  /** Moves the simulator's clock forward (numbers activate by this clock), instead of waiting. */
  advanceClock(seconds: number): void {
    this.store.advanceClock(seconds);
  }

  vapiAssistants(): JsonObject[] {
    return this.store.listResources<JsonObject>("vapi_assistant");
  }

  vapiPhoneNumbers(): JsonObject[] {
    return this.store.listResources<JsonObject>("vapi_phone_number").map(({ _pendingNumber, _activatesAt, ...visible }) => visible);
  }

  /** Puts an already active free number into the simulated account (a test's or a demo's starting pool). */
  seedVapiPhoneNumber(options: SeedNumberOptions = {}): { id: string; number: string } {
    return seedActiveNumber(this.store, options);
  }

  /** Many numbers at once (a large account), each with the options of its index. */
  seedVapiPhoneNumbers(options: SeedNumberOptions[]): { id: string; number: string }[] {
    return options.map((one) => seedActiveNumber(this.store, one));
  }

  /** Assistants as if made in Vapi at `createdAt` (someone else's, or Switchboard's by their metadata). */
  seedVapiAssistants(options: SeedAssistantOptions[]): { id: string }[] {
    return options.map((one) => seedAssistant(this.store, one));
  }

  /** Vapi phone numbers and assistants exactly as given (a large account at once); answers how many were put. */
  putVapiResources(resources: { phoneNumbers?: JsonObject[]; assistants?: JsonObject[] }): number {
    return putVapiResources(this.store, resources);
  }

  /** Sets a number's status as Vapi would (e.g. `blocked`), activating it first if it was activating. */
  setVapiPhoneNumberStatus(id: string, status: "active" | "activating" | "blocked"): void {
    setNumberStatus(this.store, id, status);
  }

  /** Creates a simulated Twilio account (AC sid + auth token, optional API keys) owning `numbers`. */
  seedTwilioAccount(seed: TwilioAccountSeed): void {
    seedTwilioAccount(this.store, seed);
  }

  /** Someone else bought this number: searches still list it, a purchase answers 21422. */
  markTwilioNumberTaken(phoneNumber: string): void {
    markTwilioNumberTaken(this.store, phoneNumber);
  }

  twilioNumbers(accountSid: string): { sid: string; phoneNumber: string; friendlyName: string }[] {
    return listTwilioNumbers(this.store, accountSid);
  }

  /**
   * Follows Google's authorization URL as a user answering the consent screen would: `{location}` is the redirect
   * to the callback; a URL Google would refuse (unknown client, unregistered redirect URI, no S256) gets the error
   * Google's page would show, `{status, error, message}`. It answers rather than throws: a Durable Object method
   * that throws is logged by workerd as an uncaught exception even when the caller catches it.
   */
  googleAuthorizeOutcome(url: string): AuthorizeOutcome {
    return googleAuthorizeOutcome(this.store, loadSettings(this.env), url);
  }

  /** How the user answers the next consent screens (until set again or reset). */
  googleSetConsent(consent: GoogleConsent): void {
    setGoogleConsent(this.store, consent);
  }

  /** The user removes Switchboard's access in their Google account: every grant is revoked. */
  googleRevokeAll(): void {
    revokeAllGoogleGrants(this.store);
  }

  googleEvents(calendarId?: string): JsonObject[] {
    return listGoogleEvents(this.store, calendarId) as JsonObject[];
  }

  googleAddBusy(busy: { start: string; end: string; calendarId?: string }): { id: string } {
    return addGoogleBusy(this.store, busy);
  }

  googleExpireAccessTokens(): void {
    expireGoogleAccessTokens(this.store);
  }
}

/** Answers long after the caller's timeout so it sees no response at all. */
function answerTooLate(settings: { UPSTREAM_TIMEOUT_MS: number }): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, settings.UPSTREAM_TIMEOUT_MS + 5_000));
}

function faultResponse(fault: SandboxFault): Response {
  if (fault.kind === "malformed") {
    return new Response('{"id": <html>Bad Gateway', { status: 200, headers: { "Content-Type": "application/json" } });
  }
  const status = fault.status ?? 500;
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds);
  // Twilio's shape for Twilio (20429 is its "Too Many Requests", 20500 its "Internal Server Error").
  const twilioCode = status === 429 ? 20429 : status >= 500 ? 20500 : null;
  const body =
    fault.service === "twilio"
      ? { code: twilioCode, message: "Injected fault", more_info: twilioCode && `https://www.twilio.com/docs/errors/${twilioCode}`, status }
      : fault.service === "google"
        ? {
            error: {
              code: status,
              message: "Injected fault",
              errors: [{ domain: "global", reason: status === 429 ? "rateLimitExceeded" : "backendError", message: "Injected fault" }],
            },
          }
        : { message: "Injected fault", error: "Sandbox Fault", statusCode: status };
  return new Response(JSON.stringify(body), { status, headers });
}

/** The simulator's one instance, for its RPC methods (the dev consent page and the tests). */
export function sandboxStub(env: { UPSTREAM_SANDBOX: DurableObjectNamespace<UpstreamSandbox> }) {
  return env.UPSTREAM_SANDBOX.getByName(SANDBOX_INSTANCE);
}
