import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { call, json, sampleBusiness, sandbox, tableCounts, token } from "../helpers/api";
import { newOrg } from "../helpers/assertions";
import { resetState, seedNumbers } from "../helpers/pool";
import { resetTwilio } from "../helpers/operations";
import {
  bodySchemaOf,
  dbSnapshot,
  endpointsOf,
  expectErrorShape,
  fetchOpenApi,
  fillPath,
  paramsIn,
  resolve,
  rowsMentioning,
  securityOf,
  typesOf,
  validValue,
  type Endpoint,
  type OpenApiDocument,
} from "../helpers/openapi";

/**
 * Tenant isolation, generated from /openapi.json: organisation A owns real resources (an assistant with a number
 * from the pool, an emergency contact, a Twilio configuration, a connected calendar); organisation B's member and
 * owner call EVERY operation of the document with A's ids, and must never see, change or reach any of it.
 *
 * - /api/admin/* → 403 for B's member and owner, nothing changed.
 * - a route with a path parameter → 404 for B (403 allowed for a member on an owner route) with each of A's ids,
 *   answered exactly like an id that does not exist, nothing changed anywhere, no upstream call.
 * - an organisation-scoped route without id → B's answer mentions none of A's ids, numbers or email; A's rows stay
 *   byte-identical; a read changes no counts and calls no upstream; a write (on B's own data) sends nothing about A.
 *
 * Bodies are generated VALID from the operation's schema (see validValue), so validation passes and the 403/404 is
 * what answers. A route added later is covered without editing this file; one whose generated body is refused with
 * 400 fails here, naming the route, until its schema carries an `example` (or BODY_OVERRIDES in test/helpers/openapi.ts gets an entry).
 */

/** Routes public by design (no organisation), and why; everything else must isolate organisations. */
const PUBLIC_BY_DESIGN: Record<string, string> = {
  "GET /health": "liveness for monitors: no organisation, no data",
  "GET /openapi.json": "the API description, public so clients can be generated",
  "GET /docs": "the API reference page: Scalar in the browser reads the public /openapi.json",
  "GET /api/calendar/google/callback":
    "Google's browser redirect carries no token: it is bound to the signed, encrypted, single-use OAuth state, which names the organisation",
  "POST /webhooks/vapi": "Vapi's server messages: bound to X-Vapi-Secret, not to a user (webhook-security.test.ts)",
  "GET /admin":
    "the operators' dashboard: static HTML with no data; its script reads the admin API with a platform_admin token the operator enters",
};
/** Development-only routes of the upstream sandbox (answered only when UPSTREAM_MODE=sandbox). */
const isSandboxRoute = (path: string) => path.startsWith("/sandbox/");
const publicReason = (ep: Endpoint) => PUBLIC_BY_DESIGN[ep.key] ?? (isSandboxRoute(ep.path) ? "sandbox-only development route" : undefined);

const DEMO_SID = `AC${"0".repeat(32)}`;
const DEMO_TOKEN = "sandbox-twilio-auth-token";

const doc: OpenApiDocument = await fetchOpenApi();

/** Routes the app serves but the document does not list (hidden aliases, the document itself, docs, sandbox). */
function undocumentedRoutes(): Endpoint[] {
  const documented = new Set(endpointsOf(doc).map((e) => e.key));
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const route of createApp().routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const key = `${route.method} ${path}`;
    if (documented.has(key) || seen.has(key)) continue;
    seen.add(key);
    // Not described: assume what every /api route needs, a bearer token, and its path parameters as strings.
    const parameters = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1]!,
      in: "path" as const,
      required: true,
      schema: { type: "string" },
    }));
    out.push({ method: route.method, path, key, op: { security: path.startsWith("/api/") ? [{ Bearer: [] }] : undefined, parameters } });
  }
  return out;
}

const endpoints = [...endpointsOf(doc), ...undocumentedRoutes()];
const tested = endpoints.filter((ep) => !publicReason(ep));

// ---------------------------------------------------------------------------------------------------------------

const A = newOrg();
const B = newOrg();
const tokens = {
  aOwner: () => token({ org: A, role: "owner", sub: "user-a" }),
  aMember: () => token({ org: A, role: "member", sub: "user-a2" }),
  b: (role: "member" | "owner") => token({ org: B, role, sub: `user-b-${role}` }),
};

interface OrgA {
  assistantId: string;
  vapiAssistantId: string;
  numberId: string;
  vapiNumberId: string;
  phoneNumber: string;
  emergencyPhone: string;
  twilioNumber: string;
  calendarEmail: string;
  alertId: number;
}
let a: OrgA;

/** Strings that are A's alone: none may appear in anything B receives or causes. */
const secretsOfA = () => [
  A,
  a.assistantId,
  a.vapiAssistantId,
  a.numberId,
  a.vapiNumberId,
  a.phoneNumber,
  a.emergencyPhone,
  a.twilioNumber,
  a.calendarEmail,
];
/** Identifiers whose rows (in any table) are A's. */
const rowKeysOfA = () => [A, a.assistantId, a.numberId];

async function connectCalendar(ownerToken: string): Promise<void> {
  const auth = await call("GET", "/api/calendar/google/auth", { token: ownerToken });
  expect(auth.status).toBe(200);
  const consent = new URL((await json(auth)).url);
  const google = await call("GET", consent.pathname + consent.search, { token: null });
  expect(google.status).toBe(302);
  const back = new URL(google.headers.get("Location")!);
  const callback = await call("GET", back.pathname + back.search, { token: null });
  expect(callback.status).toBe(302);
  expect(callback.headers.get("Location")).toContain("calendar=connected");
}

beforeAll(async () => {
  await resetState();
  await resetTwilio();
  await env.DB.batch(["calendar_connections", "oauth_states", "bookings"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
  // One number for A, one for each create B's member and owner will send, and two for the Idempotency-Key check
  // (so no number provisions and no tracker alarm writes to D1 while the checks run).
  await seedNumbers(5);

  const created = await call("POST", "/api/assistants", { token: await tokens.aMember(), body: { business_data: sampleBusiness } });
  const assistant = await json(created);
  expect(created.status, JSON.stringify(assistant)).toBe(201);
  expect(assistant.phone_source).toBe("pool");

  const emergencyPhone = "+15125550199";
  const contact = await call("PUT", `/api/assistants/${assistant.id}/emergency-contact`, {
    token: await tokens.aMember(),
    body: { name: "Dana (on call)", phone: emergencyPhone },
  });
  expect(contact.status, await contact.clone().text()).toBe(200);

  const twilioNumber = "+14155550101";
  const twilio = await call("PUT", "/api/organization/twilio", {
    token: await tokens.aOwner(),
    body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN, phone_numbers: [twilioNumber] },
  });
  expect(twilio.status, await twilio.clone().text()).toBe(200);

  await connectCalendar(await tokens.aOwner());
  const status = await json(await call("GET", "/api/calendar/status", { token: await tokens.aMember() }));
  expect(status.connected).toBe(true);

  const vapiNumberId = (await env.DB.prepare("SELECT vapi_phone_number_id FROM phone_numbers WHERE id = ?")
    .bind(assistant.phone_number_id)
    .first<string>("vapi_phone_number_id"))!;
  // An alert about A's number, so the admin alert route gets a real id too.
  await env.DB.prepare(
    "INSERT INTO alerts (kind, subject, status, message, created_at) VALUES ('provisioning_stuck', ?, 'open', 'test alert', ?)",
  )
    .bind(assistant.phone_number_id, new Date().toISOString())
    .run();
  const alertId = (await env.DB.prepare("SELECT id FROM alerts WHERE subject = ?").bind(assistant.phone_number_id).first<number>("id"))!;

  a = {
    assistantId: assistant.id,
    vapiAssistantId: assistant.vapi_assistant_id,
    numberId: assistant.phone_number_id,
    vapiNumberId,
    phoneNumber: assistant.vapi_phone_number,
    emergencyPhone,
    twilioNumber,
    calendarEmail: status.email,
    alertId,
  };
  for (const value of secretsOfA()) expect(typeof value === "string" && value.length > 5, `A's resource ${value}`).toBe(true);
});

// ---------------------------------------------------------------------------------------------------------------

/** A's ids a path parameter could take: every string id of A (assistant, number, organisation), A's alert for an integer. */
function candidateValues(ep: Endpoint, name: string): string[] {
  const param = paramsIn(ep, "path").find((p) => p.name === name);
  const types = typesOf(doc, resolve(doc, param?.schema));
  if (types.includes("integer") || types.includes("number")) return [String(a.alertId)];
  return [a.assistantId, a.numberId, A];
}

/** Every combination of candidate values for the route's path parameters. */
function pathsWithIdsOfA(ep: Endpoint): { path: string; ids: string[] }[] {
  const names = [...ep.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  let combos: Record<string, string>[] = [{}];
  for (const name of names) combos = combos.flatMap((combo) => candidateValues(ep, name).map((value) => ({ ...combo, [name]: value })));
  return combos.map((values) => ({ path: fillPath(ep.path, values), ids: Object.values(values) }));
}

/** A path for ids that exist nowhere, to compare answers with. */
function pathWithUnknownIds(ep: Endpoint): { path: string; ids: string[] } {
  const ids: string[] = [];
  const path = ep.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const types = typesOf(doc, resolve(doc, paramsIn(ep, "path").find((p) => p.name === name)?.schema));
    const id = types.includes("integer") || types.includes("number") ? "987654321" : crypto.randomUUID();
    ids.push(id);
    return encodeURIComponent(id);
  });
  return { path, ids };
}

/** The required query parameters, valid; optional ones are left out. */
function queryOf(ep: Endpoint): string {
  const query = new URLSearchParams();
  for (const p of paramsIn(ep, "query")) if (p.required) query.set(p.name, String(validValue(doc, p.schema)));
  const text = query.toString();
  return text ? `?${text}` : "";
}

function requestOf(ep: Endpoint): { body?: unknown; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const p of paramsIn(ep, "header")) if (p.required) headers[p.name] = String(validValue(doc, p.schema));
  const schema = bodySchemaOf(ep);
  return { body: schema ? validValue(doc, schema) : undefined, headers };
}

interface Sent {
  status: number;
  text: string;
  response: Response;
}

async function send(ep: Endpoint, path: string, bearer: string): Promise<Sent> {
  const { body, headers } = requestOf(ep);
  const response = await call(ep.method, path + queryOf(ep), { token: bearer, body, headers });
  const text = await response.text();
  return { status: response.status, text, response };
}

const noneOf = (text: string, secrets: readonly string[], context: string) => {
  for (const secret of secrets) expect(text.includes(secret), `${context} mentions A's ${secret}: ${text.slice(0, 300)}`).toBe(false);
};

const allRequests = async () => (await sandbox().requests()).length;

/** Runs `fn` and proves D1 did not change at all (every row of every table) and no upstream was called. */
async function unchangedEverywhere(context: string, fn: () => Promise<void>) {
  const [snapshot, counts, requests] = await Promise.all([dbSnapshot(), tableCounts(), allRequests()]);
  await fn();
  expect(await tableCounts(), `${context}: row counts`).toEqual(counts);
  expect(await dbSnapshot(), `${context}: D1 rows`).toEqual(snapshot);
  expect(await allRequests(), `${context}: upstream calls`).toBe(requests);
}

/** Refuses a generated body: the fix is an `example` on the route's schema (or a BODY_OVERRIDES entry). */
function expectBodyAccepted(ep: Endpoint, sent: Sent, context: string) {
  if (sent.status === 400) {
    throw new Error(
      `${context}: the generated body ${JSON.stringify(requestOf(ep).body)} was refused with 400 (${sent.text.slice(0, 300)}). ` +
        `Give ${ep.key}'s request schema an \`example\` (or add it to BODY_OVERRIDES in test/helpers/openapi.ts) so this suite can reach its authorisation.`,
    );
  }
}

async function checkAdmin(ep: Endpoint) {
  for (const { path } of pathsWithIdsOfA(ep)) {
    for (const role of ["member", "owner"] as const) {
      const context = `${ep.key} as B's ${role} (${path})`;
      await unchangedEverywhere(context, async () => {
        const sent = await send(ep, path, await tokens.b(role));
        expectBodyAccepted(ep, sent, context);
        expect(sent.status, `${context}: ${sent.text}`).toBe(403);
        expect(expectErrorShape(sent.response, sent.text, context).code).toBe("forbidden");
        noneOf(sent.text, secretsOfA(), context);
      });
    }
  }
}

async function checkWithIds(ep: Endpoint) {
  const unknownIds = pathWithUnknownIds(ep);
  const unknown = await send(ep, unknownIds.path, await tokens.b("owner"));
  const withoutIds = (text: string, ids: readonly string[]) => ids.reduce((t, id) => t.split(id).join("ID"), text);
  for (const { path, ids } of pathsWithIdsOfA(ep)) {
    for (const role of ["member", "owner"] as const) {
      const context = `${ep.key} as B's ${role} with A's ids (${path})`;
      await unchangedEverywhere(context, async () => {
        const sent = await send(ep, path, await tokens.b(role));
        expectBodyAccepted(ep, sent, context);
        const allowed = role === "member" ? [403, 404] : [404];
        expect(allowed, `${context}: ${sent.status} ${sent.text.slice(0, 300)}`).toContain(sent.status);
        const error = expectErrorShape(sent.response, sent.text, context);
        expect(error.code).toBe(sent.status === 404 ? "not_found" : "forbidden");
        if (sent.status === 404) {
          // Exactly like an id that exists nowhere: the same status, code and message (ids aside).
          expect(unknown.status, `${ep.key} with ids that exist nowhere: ${unknown.text.slice(0, 200)}`).toBe(404);
          expect(withoutIds(sent.text, ids), `${context}: differs from the answer for an id that does not exist`).toBe(
            withoutIds(unknown.text, unknownIds.ids),
          );
        }
        const upstream = sent.response.headers.get("X-Upstream-Calls");
        if (upstream !== null) expect(upstream, `${context}: X-Upstream-Calls`).toBe("0");
        noneOf(
          sent.text,
          secretsOfA().filter((s) => !ids.includes(s)),
          context,
        );
      });
    }
  }
}

async function checkOrgScoped(ep: Endpoint) {
  for (const role of ["member", "owner"] as const) {
    const context = `${ep.key} as B's ${role}`;
    const [rowsOfA, counts, vapiCalls, requests] = await Promise.all([
      rowsMentioning(rowKeysOfA()),
      tableCounts(),
      sandbox().requests("vapi"),
      sandbox().requests(),
    ]);
    const sent = await send(ep, ep.path, await tokens.b(role));
    expectBodyAccepted(ep, sent, context);
    expect(sent.status, `${context}: ${sent.text.slice(0, 300)}`).toBeLessThan(500);
    if (sent.status >= 400) expectErrorShape(sent.response, sent.text, context);
    noneOf(sent.text + JSON.stringify([...sent.response.headers]), secretsOfA(), context);
    expect(await rowsMentioning(rowKeysOfA()), `${context}: A's rows`).toEqual(rowsOfA);
    if (ep.method === "GET") {
      expect(await tableCounts(), `${context}: a read changed row counts`).toEqual(counts);
      expect((await sandbox().requests("vapi")).length, `${context}: a read called Vapi`).toBe(vapiCalls.length);
    } else {
      // A write acts on B's own data; nothing it sends upstream may be about A.
      const sentUpstream = JSON.stringify((await sandbox().requests()).slice(requests.length));
      noneOf(sentUpstream, secretsOfA(), `${context} (upstream requests)`);
    }
  }
}

/** A itself gets its resource on a read with its own ids: the ids substituted above are the right ones. */
async function checkOwnerReads(ep: Endpoint) {
  if (ep.method !== "GET" || ep.path.startsWith("/api/admin/")) return;
  const statuses: number[] = [];
  for (const { path } of pathsWithIdsOfA(ep)) {
    const response = await call(ep.method, path + queryOf(ep), { token: await tokens.aOwner() });
    statuses.push(response.status);
    await response.body?.cancel();
  }
  expect(
    statuses.some((s) => s >= 200 && s < 300),
    `${ep.key}: A's own ids answered ${statuses.join(", ")} to A`,
  ).toBe(true);
}

// ---------------------------------------------------------------------------------------------------------------

describe("the routes under test", () => {
  it("every route is either isolated here or public by design, and the public list names real routes", () => {
    const keys = new Set(endpoints.map((e) => e.key));
    for (const key of Object.keys(PUBLIC_BY_DESIGN))
      expect(keys.has(key), `PUBLIC_BY_DESIGN lists ${key}, which the app no longer serves`).toBe(true);
    for (const ep of tested) {
      const security = securityOf(ep);
      expect(
        security.includes("Bearer"),
        `${ep.key} has no bearer security and is not listed as public by design: decide which it is`,
      ).toBe(true);
    }
    expect(tested.length).toBeGreaterThanOrEqual(20);
    expect(tested.some((ep) => ep.path.startsWith("/api/admin/"))).toBe(true);
    expect(tested.some((ep) => ep.path.includes("{"))).toBe(true);
  });

  it.each(endpoints.filter(publicReason).map((ep) => [ep.key, publicReason(ep)!] as const))("skipped: %s (%s)", (key) => {
    expect(tested.some((e) => e.key === key)).toBe(false);
  });

  it("the public pages without parameters show none of A's data", async () => {
    for (const ep of endpoints.filter((e) => publicReason(e) && e.method === "GET" && !e.path.includes("{") && !isSandboxRoute(e.path))) {
      const response = await call("GET", ep.path, { token: null });
      expect(response.status, ep.key).toBeLessThan(500);
      noneOf(await response.text(), secretsOfA(), `${ep.key} (public)`);
    }
  });
});

describe("organisation B never reaches organisation A", () => {
  it.each(tested.map((ep) => [ep.key, ep] as const))("%s", async (_key, ep) => {
    if (ep.path.startsWith("/api/admin/")) await checkAdmin(ep);
    else if (ep.path.includes("{")) {
      await checkWithIds(ep);
      await checkOwnerReads(ep);
    } else await checkOrgScoped(ep);
  });

  it.each(
    endpointsOf(doc)
      .filter((ep) => paramsIn(ep, "header").some((p) => p.name.toLowerCase() === "idempotency-key"))
      .map((ep) => [ep.key, ep] as const),
  )("%s: an Idempotency-Key is per organisation (B reusing A's key gets its own answer, not A's replay)", async (_key, ep) => {
    const key = `shared-key-${crypto.randomUUID()}`;
    const { body } = requestOf(ep);
    const first = await call(ep.method, ep.path, { token: await tokens.aOwner(), body, headers: { "Idempotency-Key": key } });
    const created = await first.text();
    expect(first.status, created).toBeLessThan(300);
    const replay = await call(ep.method, ep.path, { token: await tokens.aOwner(), body, headers: { "Idempotency-Key": key } });
    expect(replay.headers.get("Idempotent-Replayed"), "the key does replay for A itself").toBe("true");
    expect(await replay.text()).toBe(created);

    const fromB = await call(ep.method, ep.path, { token: await tokens.b("member"), body, headers: { "Idempotency-Key": key } });
    const text = await fromB.text();
    expect(fromB.status, text).toBeLessThan(300);
    expect(fromB.headers.get("Idempotent-Replayed")).toBeNull();
    const id = (JSON.parse(created) as { id?: unknown }).id;
    if (typeof id === "string") noneOf(text, [id], `${ep.key} as B with A's Idempotency-Key`);
    noneOf(text, secretsOfA(), `${ep.key} as B with A's Idempotency-Key`);
  });

  it("afterwards, A's resources are all still A's and intact", async () => {
    const own = await json(await call("GET", `/api/assistants/${a.assistantId}`, { token: await tokens.aMember() }));
    expect(own).toMatchObject({ id: a.assistantId, vapi_phone_number: a.phoneNumber, emergency_contact: { phone: a.emergencyPhone } });
    const twilio = await json(await call("GET", "/api/organization/twilio", { token: await tokens.aOwner() }));
    expect(twilio.configured).toBe(true);
    expect(twilio.numbers.map((n: { number: string }) => n.number)).toContain(a.twilioNumber);
    const calendar = await json(await call("GET", "/api/calendar/status", { token: await tokens.aMember() }));
    expect(calendar).toMatchObject({ connected: true, email: a.calendarEmail });
    expect((await sandbox().vapiAssistants()).some((v) => v.id === a.vapiAssistantId)).toBe(true);
  });
});
