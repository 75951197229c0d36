import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, MAX_WEBHOOK_BYTES } from "../../src/app";
import { call, json, sampleBusiness, sandbox, sendStreamed, token } from "../helpers/api";
import { newOrg } from "../helpers/assertions";
import { adminToken, resetTwilio } from "../helpers/operations";
import { resetState, seedNumbers } from "../helpers/pool";
import {
  bodySchemaOf,
  dbSnapshot,
  detailPaths,
  endpointsOf,
  expectErrorShape,
  fetchOpenApi,
  distinctFieldsOf,
  fillPath,
  isAreaCodeField,
  isFreeText,
  isPhoneField,
  paramsIn,
  pathText,
  REMOVE,
  resolve,
  securityOf,
  strictObjectsOf,
  tableNames,
  typesOf,
  validValue,
  withValue,
  wrongTypedValues,
  type Endpoint,
  type ErrorBody,
  type Field,
  type OpenApiDocument,
  type Schema,
} from "../helpers/openapi";
import { TEST_SETTINGS } from "../settings";

/**
 * Bad input, generated from /openapi.json. For every operation with a JSON body (and every declared query
 * parameter), sent by a caller whose token and ids are valid (its own organisation's assistant and number, an admin
 * for /api/admin, the secret for /webhooks/vapi): malformed JSON, wrong types, missing required fields, unknown
 * fields, huge bodies and strings, control characters, invalid E.164 numbers and area codes must answer 4xx in the
 * one error shape with D1 unchanged (every row of every table) and no upstream call. Then fixed-seed fast-check
 * values for every body route (zero 5xx, every non-2xx in the error shape) and SQL fragments as text (no 5xx; if
 * accepted, they read back verbatim and every table still exists).
 *
 * Valid bodies come from the schema (validValue: required properties, `example`s, first enum values, formats and
 * patterns); BODY_OVERRIDES (test/helpers/openapi.ts) holds the few a schema cannot say. A route added later is covered without editing this
 * file; if its generated body is refused, "every generated body passes validation" names it.
 */

const SEED = 20261126;

/**
 * Routes whose strings are free-form by design, so control characters, phone-like and area-code-like values in them
 * are not refused (the other checks still apply).
 */
const FREE_FORM_ROUTES: Record<string, string> = {
  "POST /webhooks/vapi":
    "Vapi's server message is passed through: its strings are Vapi's (ids, transcripts), unknown shapes answer 200 with no effect",
};

/**
 * Known gaps in src/ (reported, not fixed here): for these `route field check` triples the assertion is reduced to
 * what is correct today (4xx in the error shape, D1 unchanged); the upstream call it makes is tolerated.
 */
const KNOWN_GAPS: Record<string, string> = {};

const SQL_FRAGMENTS = ["'; DROP TABLE assistants; --", '" OR 1=1 --'];
const CONTROL_STRINGS = ["Cool\u0000Breeze", "Cool\u0007Breeze"];
const BAD_E164 = ["555-1234", "+0123"];
const BAD_AREA_CODES = ["012", "41a", "4155"];
const LONG_STRING = "a".repeat(10 * 1024);

const doc: OpenApiDocument = await fetchOpenApi();
const endpoints = endpointsOf(doc);
const bodyRoutes = endpoints.filter((ep) => bodySchemaOf(ep));
const queryRoutes = endpoints.filter((ep) => paramsIn(ep, "query").length > 0);

const ORG = newOrg();
const own = { assistantId: "", numberId: "", alertId: 0 };
let tablesAtStart: string[] = [];

beforeAll(async () => {
  await resetState();
  await resetTwilio();
  await seedNumbers(6);
  const created = await call("POST", "/api/assistants", {
    token: await token({ org: ORG, role: "owner" }),
    body: { business_data: sampleBusiness },
  });
  const assistant = await json(created);
  expect(created.status, JSON.stringify(assistant)).toBe(201);
  own.assistantId = assistant.id;
  own.numberId = assistant.phone_number_id;
  await env.DB.prepare(
    "INSERT INTO alerts (kind, subject, status, message, created_at) VALUES ('orphan_adopted', ?, 'open', 'test alert', ?)",
  )
    .bind(own.numberId, new Date().toISOString())
    .run();
  own.alertId = (await env.DB.prepare("SELECT id FROM alerts WHERE subject = ?").bind(own.numberId).first<number>("id"))!;
  tablesAtStart = await tableNames();
});

afterAll(async () => {
  // Nothing dropped or renamed, whatever text was sent.
  expect(await tableNames()).toEqual(tablesAtStart);
});

// ---------------------------------------------------------------------------------------------------------------
// Sending as the rightful caller.

/** The caller a route expects, with valid credentials: admin, the organisation's owner, Vapi's secret, or nobody. */
async function credentialsFor(ep: Endpoint): Promise<{ token: string | null; headers: Record<string, string> }> {
  const security = securityOf(ep);
  if (security.includes("VapiSecret")) return { token: null, headers: { "X-Vapi-Secret": TEST_SETTINGS.VAPI_WEBHOOK_SECRET } };
  if (!security.includes("Bearer")) return { token: null, headers: {} };
  if (ep.path.startsWith("/api/admin/")) return { token: await adminToken(), headers: {} };
  return { token: await token({ org: ORG, role: "owner" }), headers: {} };
}

/** The caller's own resource for a path parameter, chosen by what the parameter describes. */
function ownId(ep: Endpoint, name: string): string {
  const param = paramsIn(ep, "path").find((p) => p.name === name);
  const about = `${param?.description ?? ""} ${resolve(doc, param?.schema).description ?? ""}`.toLowerCase();
  const types = typesOf(doc, resolve(doc, param?.schema));
  if (about.includes("alert") || types.includes("integer")) return String(own.alertId);
  if (about.includes("phone number") || ep.path.includes("/phone-numbers/")) return own.numberId;
  return own.assistantId;
}

const pathOf = (ep: Endpoint) =>
  fillPath(ep.path, Object.fromEntries([...ep.path.matchAll(/\{([^}]+)\}/g)].map((m) => [m[1]!, ownId(ep, m[1]!)])));

const schemaOf = (ep: Endpoint): Schema => bodySchemaOf(ep)!;
const validBody = (ep: Endpoint) => validValue(doc, schemaOf(ep));
const limitFor = (ep: Endpoint) => (ep.path.startsWith("/webhooks/") ? MAX_WEBHOOK_BYTES : MAX_BODY_BYTES);

interface SendOptions {
  body?: unknown;
  rawBody?: string;
  query?: string;
}

async function send(ep: Endpoint, options: SendOptions): Promise<{ response: Response; text: string }> {
  const { token: bearer, headers } = await credentialsFor(ep);
  const response = await call(ep.method, pathOf(ep) + (options.query ?? ""), {
    token: bearer,
    headers,
    body: options.body,
    rawBody: options.rawBody,
  });
  return { response, text: await response.text() };
}

/**
 * What a refused request must not have touched: every row of every table (so the counts of tableCounts() and the
 * target rows too); the sandbox's request log is emptied so that only new upstream calls show.
 */
async function state() {
  const [snapshot] = await Promise.all([dbSnapshot(), sandbox().clearRequests()]);
  return { snapshot };
}

async function expectUnchanged(before: Awaited<ReturnType<typeof state>>, context: string, allowUpstream = false) {
  const [snapshot, requests] = await Promise.all([dbSnapshot(), sandbox().requests()]);
  for (const table of Object.keys(before.snapshot)) {
    expect(JSON.parse(snapshot[table] ?? "[]").length, `${context}: row count of ${table} changed`).toBe(
      JSON.parse(before.snapshot[table]!).length,
    );
  }
  expect(snapshot, `${context}: D1 rows changed`).toEqual(before.snapshot);
  if (!allowUpstream)
    expect(
      requests.map((r) => `${r.service} ${r.method} ${r.path}`),
      `${context}: upstream calls were made`,
    ).toEqual([]);
}

interface Refusal {
  status?: number;
  code?: string;
  /** A `details` entry's path must name this field (or a parent or child of it). */
  names?: string;
  allowUpstream?: boolean;
}

/** Sends bad input and proves it was refused with a 4xx in the error shape, changing nothing. */
async function expectRefused(ep: Endpoint, context: string, options: SendOptions, expected: Refusal = {}): Promise<ErrorBody["error"]> {
  const before = await state();
  const { response, text } = await send(ep, options);
  const label = `${ep.key} ${context}`;
  expect(response.status, `${label}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (expected.status !== undefined) expect(response.status, `${label}: ${text.slice(0, 300)}`).toBe(expected.status);
  const error = expectErrorShape(response, text, label);
  if (expected.code !== undefined) expect(error.code, label).toBe(expected.code);
  if (expected.names !== undefined) {
    const target = expected.names;
    const paths = detailPaths(error);
    const related = paths.some(
      (p) => p === target || p.startsWith(`${target}.`) || target.startsWith(`${p}.`) || (target === "" && p === "(root)"),
    );
    expect(related, `${label}: details ${JSON.stringify(error.details)} do not name ${target || "(root)"}`).toBe(true);
  }
  await expectUnchanged(before, label, expected.allowUpstream);
  return error;
}

const fieldsOfRoute = (ep: Endpoint) => distinctFieldsOf(doc, schemaOf(ep));
const stringFields = (ep: Endpoint) => fieldsOfRoute(ep).filter((f) => typesOf(doc, f.resolved).includes("string"));
const mutate = (ep: Endpoint, path: readonly (string | number)[], value: unknown) =>
  withValue(doc, schemaOf(ep), validBody(ep), path, value);
const gap = (ep: Endpoint, field: Field, check: string) => KNOWN_GAPS[`${ep.key} ${pathText(field.path)} ${check}`] !== undefined;

/** A body of `bytes` bytes that is otherwise the valid one (a padding property), as JSON text. */
function hugeBody(ep: Endpoint, bytes: number): string {
  const base = validBody(ep);
  const text = JSON.stringify(
    base !== null && typeof base === "object" && !Array.isArray(base) ? { ...base, padding: "" } : { padding: "" },
  );
  return text.replace('"padding":""', `"padding":"${"x".repeat(Math.max(0, bytes - text.length))}"`);
}

/** The same, streamed with no Content-Length, so only counting the bytes read can stop it. */
async function sendChunked(ep: Endpoint, text: string): Promise<{ response: Response; text: string }> {
  const { token: bearer, headers } = await credentialsFor(ep);
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
      offset += 16 * 1024;
    },
  });
  const request = new Request(`https://switchboard.test${pathOf(ep)}`, {
    method: ep.method,
    headers: { ...headers, "Content-Type": "application/json", ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
    body: stream,
    duplex: "half",
  } as RequestInit);
  const response = await sendStreamed(request);
  return { response, text: await response.text() };
}

// ---------------------------------------------------------------------------------------------------------------

describe("the routes under test", () => {
  it("the document lists body and query routes to attack", () => {
    expect(bodyRoutes.map((ep) => ep.key)).toEqual(
      expect.arrayContaining(["POST /api/assistants", "PATCH /api/assistants/{id}", "PUT /api/organization/twilio", "POST /webhooks/vapi"]),
    );
    expect(queryRoutes.length).toBeGreaterThan(0);
    for (const key of Object.keys(FREE_FORM_ROUTES))
      expect(
        endpoints.some((ep) => ep.key === key),
        `FREE_FORM_ROUTES lists ${key}, which is gone`,
      ).toBe(true);
    for (const key of Object.keys(KNOWN_GAPS))
      expect(
        bodyRoutes.some((ep) => key.startsWith(`${ep.key} `)),
        `KNOWN_GAPS lists ${key}, whose route is gone`,
      ).toBe(true);
  });
});

describe.each(bodyRoutes.map((ep) => [ep.key, ep] as const))("%s refuses bad bodies and changes nothing", (_key, ep) => {
  const freeForm = FREE_FORM_ROUTES[ep.key] !== undefined;

  it("malformed JSON → 400 malformed_json", async () => {
    for (const raw of ['{"business_data": {"business_name": "x"', "{name: 'single quotes'}", "[1, 2,", "\u0000"]) {
      await expectRefused(ep, `malformed ${JSON.stringify(raw)}`, { rawBody: raw }, { status: 400, code: "malformed_json" });
    }
    if (ep.op.requestBody?.required) await expectRefused(ep, "an empty body", { rawBody: "" }, { status: 400 });
  });

  it("wrong types at the root and for every property → 400 naming it", async () => {
    for (const value of wrongTypedValues(doc, schemaOf(ep))) {
      await expectRefused(ep, `root ${JSON.stringify(value)}`, { body: value }, { status: 400, code: "invalid_request", names: "" });
    }
    for (const field of fieldsOfRoute(ep)) {
      for (const value of wrongTypedValues(doc, field.schema, 2)) {
        const path = pathText(field.path);
        await expectRefused(
          ep,
          `${path} = ${JSON.stringify(value)}`,
          { body: mutate(ep, field.path, value) },
          { status: 400, code: "invalid_request", names: path },
        );
      }
    }
  });

  it("each required field missing → 400 naming it", async () => {
    for (const field of fieldsOfRoute(ep).filter((f) => f.required)) {
      const path = pathText(field.path);
      await expectRefused(
        ep,
        `without ${path}`,
        { body: mutate(ep, field.path, REMOVE) },
        { status: 400, code: "invalid_request", names: path },
      );
    }
  });

  it("an unknown field → 400 unknown_field at its own path, in every object that refuses them", async () => {
    for (const parent of strictObjectsOf(doc, schemaOf(ep))) {
      const path = [...parent, "unexpected_field"];
      const error = await expectRefused(
        ep,
        `extra ${pathText(path)}`,
        { body: mutate(ep, path, "surprise") },
        { status: 400, code: "invalid_request" },
      );
      expect(error.details, `${ep.key} extra ${pathText(path)}`).toContainEqual(
        expect.objectContaining({ path: pathText(path), code: "unknown_field" }),
      );
    }
  });

  it("a body over the limit → 413, with or without Content-Length, and nothing is read into the handler", async () => {
    const size = Math.max(100 * 1024, limitFor(ep) + 1024);
    const text = hugeBody(ep, size);
    expect(text.length).toBeGreaterThanOrEqual(size);
    await expectRefused(ep, `a ${Math.round(size / 1024)} KB body`, { rawBody: text }, { status: 413, code: "payload_too_large" });
    const before = await state();
    const chunked = await sendChunked(ep, text);
    expect(chunked.response.status, `${ep.key} chunked: ${chunked.text.slice(0, 200)}`).toBe(413);
    expect(expectErrorShape(chunked.response, chunked.text, `${ep.key} chunked`).code).toBe("payload_too_large");
    await expectUnchanged(before, `${ep.key} chunked`);
  });

  it("a 10 KB string in a short field → 400 naming it", async () => {
    const short = stringFields(ep).filter(
      (f) =>
        (f.resolved.maxLength !== undefined && f.resolved.maxLength < LONG_STRING.length) ||
        f.resolved.pattern ||
        f.resolved.enum ||
        f.resolved.format,
    );
    // A body with no string at all (a number only) has nothing to bound.
    if (!freeForm && stringFields(ep).length > 0) expect(short.length, `${ep.key} has no bounded string field`).toBeGreaterThan(0);
    for (const field of short) {
      const path = pathText(field.path);
      await expectRefused(
        ep,
        `10 KB in ${path}`,
        { body: mutate(ep, field.path, LONG_STRING) },
        { status: 400, code: "invalid_request", names: path },
      );
    }
  });

  it.skipIf(freeForm)("control characters in every string field → 4xx", async () => {
    for (const field of stringFields(ep)) {
      for (const value of CONTROL_STRINGS) {
        const path = pathText(field.path);
        const known = gap(ep, field, "control-characters");
        await expectRefused(
          ep,
          `${path} = ${JSON.stringify(value)}`,
          { body: mutate(ep, field.path, value) },
          known ? { allowUpstream: true } : {},
        );
      }
    }
  });

  it.skipIf(freeForm)("invalid E.164 numbers and area codes → 400 naming the field", async () => {
    for (const field of stringFields(ep)) {
      const path = pathText(field.path);
      const bad = isPhoneField(field) ? BAD_E164 : isAreaCodeField(field) ? BAD_AREA_CODES : [];
      for (const value of bad) {
        await expectRefused(
          ep,
          `${path} = ${JSON.stringify(value)}`,
          { body: mutate(ep, field.path, value) },
          { status: 400, code: "invalid_request", names: path },
        );
      }
    }
  });
});

describe.each(queryRoutes.map((ep) => [ep.key, ep] as const))("%s refuses bad query parameters and changes nothing", (_key, ep) => {
  const params = paramsIn(ep, "query");
  const q = (name: string, value: string) => `?${new URLSearchParams({ [name]: value })}`;

  it("wrong types, values outside an enum, and over-long strings → 400 naming the parameter", async () => {
    let checked = 0;
    for (const param of params) {
      const s = resolve(doc, param.schema);
      const types = typesOf(doc, s);
      const bad: string[] = [];
      if (types.includes("integer") || types.includes("number")) bad.push("abc", "1e999x");
      if (types.includes("integer")) bad.push("1.5");
      if (s.enum) bad.push("not-one-of-them");
      if (types.includes("string") && s.maxLength !== undefined) bad.push("a".repeat(Math.max(LONG_STRING.length, s.maxLength + 1)));
      for (const value of bad) {
        checked++;
        await expectRefused(
          ep,
          `?${param.name}=${value.slice(0, 20)}`,
          { query: q(param.name, value) },
          { status: 400, code: "invalid_request", names: param.name },
        );
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("control characters and SQL fragments in string parameters: never 5xx, D1 unchanged, no upstream call", async () => {
    for (const param of params.filter((p) => typesOf(doc, resolve(doc, p.schema)).includes("string") && !resolve(doc, p.schema).enum)) {
      for (const value of [...CONTROL_STRINGS, ...SQL_FRAGMENTS]) {
        const label = `${ep.key} ?${param.name}=${JSON.stringify(value)}`;
        const before = await state();
        const { response, text } = await send(ep, { query: q(param.name, value) });
        expect(response.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
        if (response.status >= 400) expectErrorShape(response, text, label);
        await expectUnchanged(before, label);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// What may change state comes last: accepted SQL text, the valid-body control and fast-check (which can create
// assistants and numbers, whose trackers then write to D1 on their own).

/** Every string anywhere in a JSON value. */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

describe("SQL fragments are text", () => {
  it.each(bodyRoutes.map((ep) => [ep.key, ep] as const))(
    "%s: never 5xx; accepted text reads back verbatim; every table still exists",
    async (_key, ep) => {
      const reader = (path: string) => endpoints.find((e) => e.method === "GET" && e.path === path);
      for (const field of fieldsOfRoute(ep).filter((f) => isFreeText(doc, f))) {
        for (const fragment of SQL_FRAGMENTS) {
          const label = `${ep.key} ${pathText(field.path)} = ${JSON.stringify(fragment)}`;
          const { response, text } = await send(ep, { body: mutate(ep, field.path, fragment) });
          expect(response.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
          if (response.status >= 400) expectErrorShape(response, text, label);
          if (response.status >= 200 && response.status < 300) {
            const created = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            // Read it back: the item a create made (GET path/{id}), else the same path.
            const itemPath =
              typeof created.id === "string" && reader(`${ep.path}/{id}`)
                ? `${pathOf(ep)}/${created.id}`
                : reader(ep.path)
                  ? pathOf(ep)
                  : null;
            if (itemPath) {
              const read = await call("GET", itemPath, { token: (await credentialsFor(ep)).token });
              expect(read.status, label).toBe(200);
              expect(stringsIn(await read.json()), `${label}: not read back verbatim from GET ${itemPath}`).toContain(fragment);
            }
            if (
              ep.method === "POST" &&
              typeof created.id === "string" &&
              endpoints.some((e) => e.method === "DELETE" && e.path === `${ep.path}/{id}`)
            ) {
              expect(
                (await call("DELETE", `${pathOf(ep)}/${created.id}`, { token: (await credentialsFor(ep)).token })).status,
                `${label}: clean-up`,
              ).toBeLessThan(300);
            }
          }
          expect(await tableNames(), label).toEqual(tablesAtStart);
        }
      }
    },
  );
});

describe("generated values", () => {
  it("every generated valid body passes validation (a refused one names the route that needs an example)", async () => {
    const refused: string[] = [];
    for (const ep of bodyRoutes) {
      const { response, text } = await send(ep, { body: validBody(ep) });
      expect(response.status, `${ep.key}: ${text.slice(0, 300)}`).toBeLessThan(500);
      if (response.status === 400) refused.push(`${ep.key} ${JSON.stringify(validBody(ep))} → ${text.slice(0, 200)}`);
    }
    expect(refused, "give these routes' request schemas an `example` (or add a BODY_OVERRIDES entry in test/helpers/openapi.ts)").toEqual(
      [],
    );
  });

  it.each(bodyRoutes.map((ep) => [ep.key, ep] as const))(
    "fast-check over random and near-valid JSON for %s: zero 5xx, every non-2xx in the error shape",
    async (_key, ep) => {
      const fields = fieldsOfRoute(ep);
      const properties = Object.keys(resolve(doc, schemaOf(ep)).properties ?? {});
      const json = fc.jsonValue({ maxDepth: 3 });
      const arbitrary = fc.oneof(
        // Anything at all.
        json,
        // The right keys with anything in them.
        properties.length ? fc.dictionary(fc.constantFrom(...properties, "unexpected"), json, { maxKeys: properties.length + 1 }) : json,
        // The valid body with one field (at any depth) replaced by anything.
        fields.length ? fc.tuple(fc.constantFrom(...fields), json).map(([field, value]) => mutate(ep, field.path, value)) : json,
      );
      await fc.assert(
        fc.asyncProperty(arbitrary, async (body) => {
          const { response, text } = await send(ep, { body });
          const label = `${ep.key} ${JSON.stringify(body).slice(0, 200)}`;
          expect(response.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
          if (response.status < 200 || response.status >= 300) expectErrorShape(response, text, label);
        }),
        { seed: SEED, numRuns: 100 },
      );
    },
  );
});

describe("credentials and schema edge cases found by the generated suite", () => {
  const DEMO_SID = `AC${"0".repeat(32)}`;
  const putTwilio = async (body: Record<string, unknown>) =>
    call("PUT", "/api/organization/twilio", {
      token: await token({ org: "org-edge", role: "owner" }),
      body: { account_sid: DEMO_SID, ...body },
    });

  it("refuses a non-ASCII auth_token or api_key_secret with 400 before calling Twilio (was a 500 from btoa)", async () => {
    for (const body of [{ auth_token: "€€€€€€€€€€" }, { api_key_sid: `SK${"1".repeat(32)}`, api_key_secret: "秘密秘密秘密秘密秘密" }]) {
      const before = (await sandbox().requests("twilio")).length;
      const res = await putTwilio(body);
      expect(res.status).toBe(400);
      expect((await res.json<any>()).error.code).toBe("invalid_request");
      expect((await sandbox().requests("twilio")).length).toBe(before);
    }
  });

  it("refuses control characters in auth_token with 400 before calling Twilio", async () => {
    const before = (await sandbox().requests("twilio")).length;
    const res = await putTwilio({ auth_token: "Cool\u0000Breeze-token" });
    expect(res.status).toBe(400);
    expect((await res.json<any>()).error.details[0].path).toBe("auth_token");
    expect((await sandbox().requests("twilio")).length).toBe(before);
  });

  it("documents the emergency-contact request body as a non-nullable object", async () => {
    const doc = await (await call("GET", "/openapi.json", { token: null })).json<any>();
    expect(doc.components.schemas.EmergencyContact.type).toBe("object");
  });
});
