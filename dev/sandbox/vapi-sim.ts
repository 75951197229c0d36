import type { Settings } from "../../src/platform/settings";
import { validateVapiBody, type VapiSchemaName } from "./json-schema";
import type { SandboxStore } from "./store";
import { checkTwilioImport } from "./twilio-sim";

/** The simulated account's organisation id, as Vapi returns it in `orgId`. */
const SANDBOX_VAPI_ORG_ID = "5b0b1f7e-0000-4000-8000-5a4db0c0ffee";

const ASSISTANT = "vapi_assistant";
const PHONE_NUMBER = "vapi_phone_number";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Area codes for which the simulated carrier has no numbers left. */
const EXHAUSTED_AREA_CODES = new Set(["999"]);

type Json = Record<string, unknown>;

/** Vapi's NestJS error body. */
function vapiError(status: number, message: string | string[]): Response {
  const error = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found" }[status] ?? "Error";
  return Response.json({ message, error, statusCode: status }, { status });
}

/** Vapi's REST endpoints for assistants and phone numbers, with Vapi's validation and status codes. */
export async function handleVapi(store: SandboxStore, settings: Settings, request: Request, url: URL, bodyText: string): Promise<Response> {
  if (!/^Bearer\s+\S+/.test(request.headers.get("authorization") ?? "")) {
    return vapiError(401, "Unauthorized");
  }
  const [, collection, id, ...rest] = url.pathname.split("/");
  if (rest.length > 0 || (collection !== "assistant" && collection !== "phone-number")) {
    return vapiError(404, `Cannot ${request.method} ${url.pathname}`);
  }
  if (id !== undefined && !UUID.test(id)) {
    return vapiError(400, ["id must be a UUID"]);
  }
  let body: Json = {};
  if (request.method === "POST" || request.method === "PATCH") {
    try {
      body = bodyText ? (JSON.parse(bodyText) as Json) : {};
    } catch {
      return vapiError(400, "Unexpected token in JSON body");
    }
  }
  const kind = collection === "assistant" ? ASSISTANT : PHONE_NUMBER;

  if (id === undefined) {
    if (request.method === "GET")
      return Response.json(list(store, kind, url.searchParams).map((item) => present(store, settings, kind, item)));
    if (request.method === "POST") {
      return collection === "assistant" ? createAssistant(store, body) : createPhoneNumber(store, settings, body);
    }
    return vapiError(404, `Cannot ${request.method} ${url.pathname}`);
  }

  const existing = store.getResource<Json>(kind, id);
  const label = collection === "assistant" ? "Assistant" : "Phone Number";
  if (!existing) return vapiError(404, `Couldn't Find ${label}. \`id\` ${id} Not Found.`);
  switch (request.method) {
    case "GET":
      return Response.json(present(store, settings, kind, existing));
    case "PATCH": {
      const schema: VapiSchemaName =
        kind === ASSISTANT
          ? "UpdateAssistantDTO"
          : existing.provider === "twilio"
            ? "UpdateTwilioPhoneNumberDTO"
            : "UpdateVapiPhoneNumberDTO";
      // Vapi's docs detach an assistant with `assistantId: null`, which the spec does not declare as nullable.
      const { assistantId, ...rest } = body;
      const problems = validateVapiBody(schema, assistantId === null ? rest : body);
      if (problems.length > 0) return vapiError(400, problems);
      const updated: Json = { ...existing, ...body, updatedAt: new Date(store.now()).toISOString() };
      for (const [key, value] of Object.entries(body)) if (value === null) delete updated[key];
      store.putResource(kind, id, updated, existing.createdAt as string);
      return Response.json(present(store, settings, kind, updated));
    }
    case "DELETE":
      store.deleteResource(kind, id);
      return Response.json(present(store, settings, kind, existing));
    default:
      return vapiError(404, `Cannot ${request.method} ${url.pathname}`);
  }
}

/** The spec's four `createdAt` bounds, compared as instants. */
const CREATED_AT_BOUNDS = [
  ["createdAtGt", ">"],
  ["createdAtGe", ">="],
  ["createdAtLt", "<"],
  ["createdAtLe", "<="],
] as const;

/** Newest first (ties in an arbitrary but stable order), at most `limit` (default 100, at most 1000). */
function list(store: SandboxStore, kind: string, params: URLSearchParams): Json[] {
  const limit = Math.min(Number(params.get("limit") ?? 100), 1000);
  const bounds = CREATED_AT_BOUNDS.flatMap(([param, op]) => {
    const value = params.get(param);
    return value === null ? [] : [{ op, at: Date.parse(value) }];
  });
  // A bound that is no instant (or a limit that is no number) keeps nothing, as a comparison with NaN would.
  if (!Number.isFinite(limit) || bounds.some(({ at }) => Number.isNaN(at))) return [];
  return store.listPage<Json>(kind, bounds, limit);
}

function createAssistant(store: SandboxStore, body: Json): Response {
  const problems = validateVapiBody("CreateAssistantDTO", body);
  if (problems.length > 0) return vapiError(400, problems);
  const now = new Date(store.now()).toISOString();
  const assistant: Json = { ...body, id: crypto.randomUUID(), orgId: SANDBOX_VAPI_ORG_ID, createdAt: now, updatedAt: now };
  store.putResource(ASSISTANT, assistant.id as string, assistant, now);
  return Response.json(assistant, { status: 201 });
}

function createPhoneNumber(store: SandboxStore, settings: Settings, body: Json): Response {
  const schema: VapiSchemaName = body.provider === "twilio" ? "CreateTwilioPhoneNumberDTO" : "CreateVapiPhoneNumberDTO";
  if (body.provider !== "vapi" && body.provider !== "twilio") {
    return vapiError(400, ["provider must be one of the following values: byo-phone-number, twilio, vonage, vapi, telnyx"]);
  }
  const problems = validateVapiBody(schema, body);
  if (problems.length > 0) return vapiError(400, problems);
  const now = store.now();
  const nowIso = new Date(now).toISOString();
  const phoneNumber: Json = { ...body, id: crypto.randomUUID(), orgId: SANDBOX_VAPI_ORG_ID, createdAt: nowIso, updatedAt: nowIso };

  if (body.provider === "vapi") {
    const free = store.countByProvider(PHONE_NUMBER, "vapi");
    if (free >= settings.SANDBOX_VAPI_NUMBER_LIMIT) {
      return vapiError(
        400,
        `Free number limit reached. You can have up to ${settings.SANDBOX_VAPI_NUMBER_LIMIT} free Vapi numbers; import a number from Twilio, Vonage or Telnyx to add more.`,
      );
    }
    const areaCode = (body.numberDesiredAreaCode as string | undefined) ?? "415";
    if (EXHAUSTED_AREA_CODES.has(areaCode)) {
      return vapiError(400, `No phone numbers are available for area code ${areaCode}. Try a different area code.`);
    }
    phoneNumber.status = "activating";
    phoneNumber.numberDesiredAreaCode = areaCode;
    // Hidden until activation, like the real service shows no digits while the number is activating.
    phoneNumber._pendingNumber = `+1${areaCode}${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
    phoneNumber._activatesAt = now + settings.SANDBOX_ACTIVATION_DELAY_SECONDS * 1000;
  } else {
    const problem = twilioImportProblem(store, body);
    if (problem) return vapiError(400, problem);
    phoneNumber.status = "active";
  }
  store.putResource(PHONE_NUMBER, phoneNumber.id as string, phoneNumber, nowIso);
  return Response.json(present(store, settings, PHONE_NUMBER, phoneNumber), { status: 201 });
}

/** Vapi checks an imported number with the Twilio credentials it was given, as the real service does. */
function twilioImportProblem(store: SandboxStore, body: Json): string | null {
  const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string) : undefined);
  const result = checkTwilioImport(
    store,
    {
      accountSid: text("twilioAccountSid") ?? "",
      authToken: text("twilioAuthToken"),
      apiKeySid: text("twilioApiKey"),
      apiKeySecret: text("twilioApiSecret"),
    },
    text("number") ?? "",
  );
  if (result === "authentication_failed")
    return "Twilio Error: Authentication failed. Check the Twilio Account SID and Auth Token (or API key and secret).";
  if (result === "number_not_found") return "Twilio Error: Number Not Found On Twilio Account";
  return null;
}

/** The public view: activation happens by the sandbox clock; internal fields never leave. */
function present(store: SandboxStore, _settings: Settings, kind: string, item: Json): Json {
  if (kind !== PHONE_NUMBER) return item;
  const { _pendingNumber, _activatesAt, ...visible } = item;
  if (visible.status === "activating" && typeof _activatesAt === "number" && store.now() >= _activatesAt) {
    visible.status = "active";
    visible.number = _pendingNumber;
  }
  return visible;
}

export interface SeedNumberOptions {
  areaCode?: string;
  number?: string;
  name?: string;
  /** When Vapi made it (default: the sandbox's now); numbers may share a millisecond, as they do in Vapi. */
  createdAt?: string;
}

export function seedActiveNumber(store: SandboxStore, options: SeedNumberOptions): { id: string; number: string } {
  const areaCode = options.areaCode ?? "415";
  const nowIso = options.createdAt ?? new Date(store.now()).toISOString();
  const id = crypto.randomUUID();
  const number = options.number ?? `+1${areaCode}${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
  const phoneNumber: Json = {
    id,
    orgId: SANDBOX_VAPI_ORG_ID,
    provider: "vapi",
    status: "active",
    number,
    numberDesiredAreaCode: areaCode,
    createdAt: nowIso,
    updatedAt: nowIso,
    ...(options.name ? { name: options.name } : {}),
  };
  store.putResource(PHONE_NUMBER, id, phoneNumber, nowIso);
  return { id, number };
}

/**
 * Puts Vapi resources exactly as given (ids, names, `createdAt` included) into the simulated account: a large
 * account built at once (`npm run bench:scale`). Each needs an `id` and a `createdAt`.
 */
export function putVapiResources(store: SandboxStore, resources: { phoneNumbers?: Json[]; assistants?: Json[] }): number {
  let put = 0;
  for (const [kind, items] of [
    [PHONE_NUMBER, resources.phoneNumbers ?? []],
    [ASSISTANT, resources.assistants ?? []],
  ] as const) {
    for (const item of items) {
      if (typeof item.id !== "string" || typeof item.createdAt !== "string") throw new Error("each resource needs an id and a createdAt");
      store.putResource(kind, item.id, { orgId: SANDBOX_VAPI_ORG_ID, updatedAt: item.createdAt, ...item }, item.createdAt);
      put++;
    }
  }
  return put;
}

export interface SeedAssistantOptions {
  name?: string;
  metadata?: Record<string, string>;
  /** When Vapi made it (default: the sandbox's now). */
  createdAt?: string;
}

export function seedAssistant(store: SandboxStore, options: SeedAssistantOptions): { id: string } {
  const createdAt = options.createdAt ?? new Date(store.now()).toISOString();
  const id = crypto.randomUUID();
  const assistant: Json = { id, orgId: SANDBOX_VAPI_ORG_ID, name: options.name ?? "Seeded", createdAt, updatedAt: createdAt };
  if (options.metadata) assistant.metadata = options.metadata;
  store.putResource(ASSISTANT, id, assistant, createdAt);
  return { id };
}

export function setNumberStatus(store: SandboxStore, id: string, status: "active" | "activating" | "blocked"): void {
  const item = store.getResource<Json>(PHONE_NUMBER, id);
  if (!item) throw new Error(`No sandbox phone number ${id}`);
  if (item.status === "activating" && status !== "activating" && item._pendingNumber) item.number = item._pendingNumber;
  const { _pendingNumber, _activatesAt, ...rest } = item;
  const updated: Json = status === "activating" ? { ...item, status } : { ...rest, status };
  store.putResource(PHONE_NUMBER, id, updated, item.createdAt as string);
}
