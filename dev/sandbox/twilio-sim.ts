import type { Settings } from "../../src/platform/settings";
import type { SandboxStore } from "./store";

const ACCOUNT = "twilio_account";
const NUMBER = "twilio_number";
/** Numbers someone else bought since they were listed: search still offers them, purchase answers 21422. */
const TAKEN = "twilio_taken";

/** Always present, so `npm run dev` works with no setup. */
const TWILIO_DEMO_ACCOUNT = {
  accountSid: `AC${"0".repeat(32)}`,
  authToken: "sandbox-twilio-auth-token",
  type: "Full",
  numbers: ["+14155550101", "+14155550102"],
} as const;

const ACCOUNT_SID = /^AC[0-9a-f]{32}$/i;
const E164 = /^\+[1-9]\d{7,14}$/;
const AREA_CODE = /^[2-9]\d{2}$/;
/** Area codes where the simulated carrier has no numbers (Twilio's magic test value). */
const EMPTY_AREA_CODES = new Set(["533"]);
/** Twilio's magic test number that is always invalid (+15005550000 is unavailable simply by not being offered). */
const INVALID_NUMBER = "+15005550001";
const SEARCH_LIMIT = 5;
const LOCALITIES: Record<string, [string, string]> = {
  "212": ["New York", "NY"],
  "312": ["Chicago", "IL"],
  "415": ["San Francisco", "CA"],
  "512": ["Austin", "TX"],
  "617": ["Boston", "MA"],
};

interface SimAccount {
  [key: string]: unknown;
  sid: string;
  authToken: string;
  type: "Trial" | "Full";
  friendlyName: string;
  apiKeys: { sid: string; secret: string }[];
  createdAt: number;
}

interface SimNumber {
  [key: string]: unknown;
  sid: string;
  accountSid: string;
  phoneNumber: string;
  friendlyName: string;
  voiceUrl: string | null;
  voiceMethod: string;
  smsUrl: string | null;
  smsMethod: string;
  createdAt: number;
  updatedAt: number;
}

interface TwilioSandboxCredentials {
  accountSid: string;
  authToken?: string;
  apiKeySid?: string;
  apiKeySecret?: string;
}

function twilioError(status: number, code: number, message: string): Response {
  return Response.json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, { status });
}

const notFound = (path: string) => twilioError(404, 20404, `The requested resource ${path} was not found`);
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace("GMT", "+0000");
const hex32 = () => crypto.randomUUID().replaceAll("-", "");
const formatted = (e164: string) => (e164.length === 12 ? `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}` : e164);

/** Twilio's Api v2010 for accounts and phone numbers, with Twilio's auth, status codes and error bodies. */
export async function handleTwilio(
  store: SandboxStore,
  _settings: Settings,
  request: Request,
  url: URL,
  bodyText: string,
): Promise<Response> {
  ensureDemoAccount(store);
  const account = authenticate(store, request.headers.get("authorization"));
  if (!account) return twilioError(401, 20003, "Authenticate");
  const match = /^\/2010-04-01\/Accounts\/([^/]+?)(?:\.json|\/(.+))$/.exec(url.pathname);
  if (!match || !ACCOUNT_SID.test(match[1]!)) return notFound(url.pathname);
  if (match[1] !== account.sid) return twilioError(401, 20003, "Authenticate");

  const resource = match[2];
  const method = request.method;
  const form = new URLSearchParams(bodyText);
  if (resource === undefined) return method === "GET" ? Response.json(presentAccount(account)) : methodNotAllowed();
  if (resource === "IncomingPhoneNumbers.json") {
    if (method === "GET") return listIncoming(store, account, url);
    if (method === "POST") return buyNumber(store, account, form);
    return methodNotAllowed();
  }
  const numberSid = /^IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/i.exec(resource)?.[1];
  if (numberSid) {
    const number = store.getResource<SimNumber>(NUMBER, numberSid);
    if (!number || number.accountSid !== account.sid) return notFound(url.pathname);
    if (method === "GET") return Response.json(presentNumber(number));
    if (method === "POST") return updateNumber(store, number, form);
    if (method === "DELETE") {
      store.deleteResource(NUMBER, number.sid);
      return new Response(null, { status: 204 });
    }
    return methodNotAllowed();
  }
  if (resource === "AvailablePhoneNumbers/US/Local.json") {
    return method === "GET" ? searchLocal(store, account, url) : methodNotAllowed();
  }
  return notFound(url.pathname);
}

const methodNotAllowed = () => twilioError(405, 20004, "Method not allowed");

/** The account whose AC sid + auth token, or API key SK sid + secret, are in the Basic auth header. */
function authenticate(store: SandboxStore, header: string | null): SimAccount | null {
  const encoded = /^Basic\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (!encoded) return null;
  let decoded: string;
  try {
    decoded = atob(encoded);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return accountFor(
    store,
    user.startsWith("SK") ? { accountSid: "", apiKeySid: user, apiKeySecret: password } : { accountSid: user, authToken: password },
  );
}

function accountFor(store: SandboxStore, credentials: TwilioSandboxCredentials): SimAccount | null {
  const { apiKeySid, apiKeySecret, accountSid, authToken } = credentials;
  if (apiKeySid && apiKeySecret) {
    return (
      store.listResources<SimAccount>(ACCOUNT).find((a) => a.apiKeys.some((k) => k.sid === apiKeySid && k.secret === apiKeySecret)) ?? null
    );
  }
  const account = store.getResource<SimAccount>(ACCOUNT, accountSid);
  return account && authToken && account.authToken === authToken ? account : null;
}

function ownedNumbers(store: SandboxStore): SimNumber[] {
  return store.listResources<SimNumber>(NUMBER).sort((a, b) => a.createdAt - b.createdAt || a.sid.localeCompare(b.sid));
}

/** The numbers the simulated carrier offers in an area code, in a fixed order: +1<area>5550100 … +1<area>5550199. */
function carrierNumbers(areaCode: string): string[] {
  if (EMPTY_AREA_CODES.has(areaCode)) return [];
  return Array.from({ length: 100 }, (_, i) => `+1${areaCode}555${String(100 + i).padStart(4, "0")}`);
}

function isOffered(phoneNumber: string): boolean {
  const areaCode = /^\+1([2-9]\d{2})5550(1\d\d)$/.exec(phoneNumber)?.[1];
  return areaCode !== undefined && !EMPTY_AREA_CODES.has(areaCode);
}

function searchLocal(store: SandboxStore, account: SimAccount, url: URL): Response {
  const areaCode = url.searchParams.get("AreaCode") ?? "415";
  if (!AREA_CODE.test(areaCode)) return twilioError(400, 21451, `Invalid area code: ${areaCode}`);
  const pageSize = Math.min(Math.max(Number(url.searchParams.get("PageSize") ?? 50) || 50, 1), SEARCH_LIMIT);
  const owned = new Set(ownedNumbers(store).map((n) => n.phoneNumber));
  const [locality, region] = LOCALITIES[areaCode] ?? [null, null];
  const available = carrierNumbers(areaCode)
    .filter((n) => !owned.has(n))
    .slice(0, pageSize)
    .map((phoneNumber) => ({
      friendly_name: formatted(phoneNumber),
      phone_number: phoneNumber,
      lata: null,
      locality,
      rate_center: locality?.toUpperCase() ?? null,
      latitude: null,
      longitude: null,
      region,
      postal_code: null,
      iso_country: "US",
      address_requirements: "none",
      beta: false,
      capabilities: { voice: true, sms: true, mms: true, fax: false },
    }));
  return Response.json({
    available_phone_numbers: available,
    uri: `/2010-04-01/Accounts/${account.sid}/AvailablePhoneNumbers/US/Local.json`,
  });
}

function buyNumber(store: SandboxStore, account: SimAccount, form: URLSearchParams): Response {
  const requested = form.get("PhoneNumber");
  const areaCode = form.get("AreaCode");
  const owned = ownedNumbers(store);
  const isFree = (n: string) => !owned.some((o) => o.phoneNumber === n) && !store.getResource(TAKEN, n);
  if (!requested && !areaCode) return twilioError(400, 21421, "You must provide an AreaCode or a PhoneNumber");
  if (requested && (!E164.test(requested) || requested === INVALID_NUMBER)) return twilioError(400, 21421, "PhoneNumber is invalid");
  if (!requested && !AREA_CODE.test(areaCode!)) return twilioError(400, 21451, `Invalid area code: ${areaCode}`);
  if (account.type === "Trial" && owned.some((n) => n.accountSid === account.sid)) {
    return twilioError(
      400,
      21404,
      "Trial accounts are allowed only one Twilio number. To purchase additional numbers, please upgrade your account.",
    );
  }
  let phoneNumber: string;
  if (requested) {
    if (!isOffered(requested) || !isFree(requested)) return twilioError(400, 21422, `${requested} is not available.`);
    phoneNumber = requested;
  } else {
    const candidate = carrierNumbers(areaCode!).find(isFree);
    if (!candidate) return twilioError(400, 21452, `No phone numbers found in area code ${areaCode}`);
    phoneNumber = candidate;
  }
  const number = addNumber(store, account.sid, phoneNumber, form.get("FriendlyName") ?? undefined);
  if (form.has("VoiceUrl")) return updateNumber(store, number, form, 201);
  return Response.json(presentNumber(number), { status: 201 });
}

function updateNumber(store: SandboxStore, number: SimNumber, form: URLSearchParams, status = 200): Response {
  const updated: SimNumber = {
    ...number,
    friendlyName: form.get("FriendlyName") ?? number.friendlyName,
    voiceUrl: form.get("VoiceUrl") ?? number.voiceUrl,
    voiceMethod: form.get("VoiceMethod") ?? number.voiceMethod,
    smsUrl: form.get("SmsUrl") ?? number.smsUrl,
    smsMethod: form.get("SmsMethod") ?? number.smsMethod,
    updatedAt: store.now(),
  };
  store.putResource(NUMBER, number.sid, updated, new Date(number.createdAt).toISOString());
  return Response.json(presentNumber(updated), { status });
}

function listIncoming(store: SandboxStore, account: SimAccount, url: URL): Response {
  const params = url.searchParams;
  const pattern = params.get("PhoneNumber");
  // Partial numbers match anywhere, and `*` stands for any digit.
  const matcher = pattern ? new RegExp(pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "\\d")) : null;
  const friendlyName = params.get("FriendlyName");
  const all = ownedNumbers(store).filter(
    (n) => n.accountSid === account.sid && (!matcher || matcher.test(n.phoneNumber)) && (!friendlyName || n.friendlyName === friendlyName),
  );
  const pageSize = Math.min(Math.max(Number(params.get("PageSize") ?? 50) || 50, 1), 1000);
  const page = Math.max(Number(params.get("Page") ?? 0) || 0, 0);
  const start = page * pageSize;
  const items = all.slice(start, start + pageSize);
  const path = url.pathname;
  const pageUri = (n: number) => {
    const query = new URLSearchParams(params);
    query.set("PageSize", String(pageSize));
    query.set("Page", String(n));
    query.delete("PageToken");
    const previous = all[n * pageSize - 1];
    if (n > 0 && previous) query.set("PageToken", `PA${previous.sid}`);
    return `${path}?${query}`;
  };
  return Response.json({
    incoming_phone_numbers: items.map(presentNumber),
    start,
    end: start + Math.max(items.length - 1, 0),
    page,
    page_size: pageSize,
    uri: `${path}${url.search}`,
    first_page_uri: pageUri(0),
    next_page_uri: start + pageSize < all.length ? pageUri(page + 1) : null,
    previous_page_uri: page > 0 ? pageUri(page - 1) : null,
  });
}

function presentAccount(account: SimAccount): Record<string, unknown> {
  const uri = `/2010-04-01/Accounts/${account.sid}.json`;
  return {
    sid: account.sid,
    owner_account_sid: account.sid,
    friendly_name: account.friendlyName,
    status: "active",
    type: account.type,
    date_created: rfc2822(account.createdAt),
    date_updated: rfc2822(account.createdAt),
    uri,
    subresource_uris: { incoming_phone_numbers: uri.replace(/\.json$/, "/IncomingPhoneNumbers.json") },
  };
}

function presentNumber(number: SimNumber): Record<string, unknown> {
  return {
    sid: number.sid,
    account_sid: number.accountSid,
    phone_number: number.phoneNumber,
    friendly_name: number.friendlyName,
    origin: "twilio",
    type: "local",
    status: "in-use",
    capabilities: { voice: true, sms: true, mms: true, fax: false },
    address_requirements: "none",
    beta: false,
    api_version: "2010-04-01",
    voice_url: number.voiceUrl,
    voice_method: number.voiceMethod,
    voice_fallback_url: null,
    voice_application_sid: null,
    trunk_sid: null,
    sms_url: number.smsUrl,
    sms_method: number.smsMethod,
    emergency_status: "Inactive",
    date_created: rfc2822(number.createdAt),
    date_updated: rfc2822(number.updatedAt),
    uri: `/2010-04-01/Accounts/${number.accountSid}/IncomingPhoneNumbers/${number.sid}.json`,
  };
}

function addNumber(store: SandboxStore, accountSid: string, phoneNumber: string, friendlyName?: string): SimNumber {
  const now = store.now();
  const number: SimNumber = {
    sid: `PN${hex32()}`,
    accountSid,
    phoneNumber,
    friendlyName: friendlyName ?? formatted(phoneNumber),
    voiceUrl: null,
    voiceMethod: "POST",
    smsUrl: null,
    smsMethod: "POST",
    createdAt: now,
    updatedAt: now,
  };
  store.putResource(NUMBER, number.sid, number, new Date(now).toISOString());
  return number;
}

function ensureDemoAccount(store: SandboxStore): void {
  if (store.getResource(ACCOUNT, TWILIO_DEMO_ACCOUNT.accountSid)) return;
  seedTwilioAccount(store, { ...TWILIO_DEMO_ACCOUNT, numbers: [...TWILIO_DEMO_ACCOUNT.numbers] });
}

export interface TwilioAccountSeed {
  accountSid: string;
  authToken: string;
  type?: "Trial" | "Full";
  apiKeys?: { sid: string; secret: string }[];
  numbers?: string[];
}

/** Creates (or replaces the credentials of) an account, and gives it `numbers` unless someone already owns them. */
export function seedTwilioAccount(store: SandboxStore, seed: TwilioAccountSeed): void {
  if (!ACCOUNT_SID.test(seed.accountSid)) throw new Error(`Twilio account SIDs are AC + 32 hex digits, not ${seed.accountSid}`);
  for (const n of seed.numbers ?? []) if (!E164.test(n)) throw new Error(`Not an E.164 number: ${n}`);
  const existing = store.getResource<SimAccount>(ACCOUNT, seed.accountSid);
  const createdAt = existing?.createdAt ?? store.now();
  const account: SimAccount = {
    sid: seed.accountSid,
    authToken: seed.authToken,
    type: seed.type ?? "Full",
    friendlyName: existing?.friendlyName ?? `Sandbox account ${seed.accountSid.slice(-6)}`,
    apiKeys: seed.apiKeys ?? [],
    createdAt,
  };
  store.putResource(ACCOUNT, account.sid, account, new Date(createdAt).toISOString());
  const owned = new Set(ownedNumbers(store).map((n) => n.phoneNumber));
  for (const n of seed.numbers ?? []) if (!owned.has(n)) addNumber(store, account.sid, n);
}

export function markTwilioNumberTaken(store: SandboxStore, phoneNumber: string): void {
  store.putResource(TAKEN, phoneNumber, { phoneNumber }, new Date(store.now()).toISOString());
}

export function listTwilioNumbers(store: SandboxStore, accountSid: string): { sid: string; phoneNumber: string; friendlyName: string }[] {
  ensureDemoAccount(store);
  return ownedNumbers(store)
    .filter((n) => n.accountSid === accountSid)
    .map((n) => ({ sid: n.sid, phoneNumber: n.phoneNumber, friendlyName: n.friendlyName }));
}

/** What Vapi finds when it checks a Twilio import: the credentials work, and the account owns the number. */
export function checkTwilioImport(
  store: SandboxStore,
  credentials: TwilioSandboxCredentials,
  phoneNumber: string,
): "ok" | "authentication_failed" | "number_not_found" {
  ensureDemoAccount(store);
  const account = accountFor(store, credentials);
  if (!account || account.sid !== credentials.accountSid) return "authentication_failed";
  const owns = ownedNumbers(store).some((n) => n.accountSid === account.sid && n.phoneNumber === phoneNumber);
  return owns ? "ok" : "number_not_found";
}
