import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import shapes from "../../data/vapi-server-messages.json";
import { call, json, sandbox } from "../../helpers/api";
import { captureLogs, faultFor, HOUR, inject, MINUTE } from "../../helpers/faults";
import { resetState, seedNumber } from "../../helpers/pool";
import { createProvisioning, numberRow } from "../../helpers/provisioning";
import { TEST_SETTINGS } from "../../settings";

/**
 * Webhook payloads are input, not facts: every field Switchboard reads from a Vapi server message is validated
 * where it enters, and a message that does not fit is answered 200 and ignored with a warning naming the field.
 * The generated part builds messages from the shapes of Vapi's OpenAPI document (copied into test/data by
 * scripts/vapi-server-messages.mjs): valid ones, ones with one read field set to a hostile value, and hostile
 * bodies. None may answer 5xx; no invalid one may change D1.
 */

const HANDLED = ["status-update", "end-of-call-report", "tool-calls", "transfer-destination-request"] as const;
type Handled = (typeof HANDLED)[number];

interface Scene {
  numberId: string;
  vapiNumberId: string;
  vapiAssistantId: string;
  /** Another organisation's assistant, with its own provisioning number. */
  otherVapiAssistantId: string;
  otherNumberId: string;
}

async function vapiAssistantIdOf(assistantId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT vapi_assistant_id FROM assistants WHERE id = ?")
    .bind(assistantId)
    .first<{ vapi_assistant_id: string }>();
  return row!.vapi_assistant_id;
}

async function scene(): Promise<Scene> {
  const mine = await createProvisioning("org-hooks-a");
  const other = await createProvisioning("org-hooks-b");
  return {
    numberId: mine.numberId,
    vapiNumberId: mine.vapiId,
    vapiAssistantId: await vapiAssistantIdOf(mine.assistant.id),
    otherVapiAssistantId: await vapiAssistantIdOf(other.assistant.id),
    otherNumberId: other.numberId,
  };
}

/** Every row a webhook could change, in a stable order. */
async function snapshot(): Promise<string> {
  const tables = ["phone_numbers", "phone_number_events", "alerts", "assistants", "bookings"];
  const rows = await env.DB.batch(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`)));
  return JSON.stringify(rows.map((r) => r.results));
}

function post(body: unknown) {
  const rawBody = typeof body === "string" ? body : JSON.stringify(body);
  return call("POST", "/webhooks/vapi", { token: null, headers: { "X-Vapi-Secret": TEST_SETTINGS.VAPI_WEBHOOK_SECRET }, rawBody });
}

/** A call on the scene's provisioning number by its own assistant, in its area code (415): it would prove the number live. */
function provingCall(s: Scene, type: Handled = "status-update", extra: Record<string, unknown> = {}) {
  return {
    type,
    status: "in-progress",
    timestamp: Date.now() - MINUTE,
    call: {
      id: "call-proof",
      orgId: "vapi-org",
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      type: "inboundPhoneCall",
      phoneNumberId: s.vapiNumberId,
      assistantId: s.vapiAssistantId,
    },
    phoneNumber: { number: "+14155550142" },
    ...extra,
  };
}

let s: Scene;
let logs: ReturnType<typeof captureLogs>;

beforeEach(async () => {
  await resetState();
  s = await scene();
  logs = captureLogs();
});
afterEach(() => vi.restoreAllMocks());

describe("a message whose read fields do not fit is answered 200, ignored, and logged by field", () => {
  it("control: the proving call itself makes the number active with its digits", async () => {
    expect((await post({ message: provingCall(s) })).status).toBe(200);
    expect(await numberRow(s.numberId)).toMatchObject({ status: "active", number: "+14155550142" });
  });

  it.each([
    ["1e309", "message.timestamp"],
    ["-1e309", "message.timestamp"],
    ["1e20", "message.timestamp"],
    [String(Date.now() - 2 * 24 * HOUR), "message.timestamp"],
    [String(Date.now() + HOUR), "message.timestamp"],
    ['"2026-12-01T00:00:00Z"', "message.timestamp"],
  ])("a status-update with timestamp %s: 200, no D1 change, warning on %s", async (raw, field) => {
    const before = await snapshot();
    const body = JSON.stringify({ message: { ...provingCall(s), timestamp: "__TS__" } }).replace('"__TS__"', raw);
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({});
    expect(await snapshot()).toBe(before);
    expect(logs.events("webhook_message_ignored")).toEqual([expect.objectContaining({ level: "warn", type: "status-update", field })]);
  });

  it.each([
    ["phoneNumber.number", { phoneNumber: { number: "+1415555014x" } }],
    ["phoneNumber.number", { phoneNumber: { number: "14155550142" } }],
    ["phoneNumber.number", { phoneNumber: { number: "+1 415 555 0142" } }],
    ["phoneNumber.number", { phoneNumber: { number: 14155550142 } }],
    ["status", { status: "answered" }],
    ["status", { status: undefined }],
    ["call.phoneNumberId", { call: { ...provingCall({} as Scene).call, phoneNumberId: "x".repeat(200) } }],
    ["call.assistantId", { call: { ...provingCall({} as Scene).call, assistantId: "<script>" } }],
    ["call.id", { call: { ...provingCall({} as Scene).call, id: { $ne: null } } }],
  ])("a call whose %s does not fit changes nothing", async (path, extra) => {
    const message = { ...provingCall(s), ...extra } as Record<string, any>;
    if (message.call.phoneNumberId === undefined) message.call.phoneNumberId = s.vapiNumberId;
    if (path !== "call.assistantId" && !message.call.assistantId) message.call.assistantId = s.vapiAssistantId;
    const before = await snapshot();
    expect((await post({ message })).status).toBe(200);
    expect(await snapshot()).toBe(before);
    expect(logs.events("webhook_message_ignored").map((l) => l.field)).toEqual([`message.${path}`]);
  });

  it("an old timestamp on a message that dates nothing (a transfer request) is not judged", async () => {
    const res = await post({ message: { ...provingCall(s, "transfer-destination-request"), timestamp: Date.now() - 3 * 24 * HOUR } });
    expect(res.status).toBe(200);
    expect(logs.events("webhook_message_ignored")).toEqual([]);
  });

  it("a key named __proto__ cannot smuggle in the number a call was made on", async () => {
    const before = await snapshot();
    const { phoneNumberId: _dropped, ...callWithoutNumber } = provingCall(s).call;
    const raw = JSON.stringify({
      message: { ...provingCall(s), call: { ...callWithoutNumber, __PROTO__: { phoneNumberId: s.vapiNumberId } } },
    }).replace('"__PROTO__"', '"__proto__"');
    expect((await post(raw)).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });
});

describe("a call proves only what it can", () => {
  it("a call of another organisation's assistant on this number changes nothing, and is logged", async () => {
    const before = await snapshot();
    const res = await post({
      message: provingCall(s, "end-of-call-report", { call: { ...provingCall(s).call, assistantId: s.otherVapiAssistantId } }),
    });
    expect(res.status).toBe(200);
    expect(await snapshot()).toBe(before);
    expect(logs.events("webhook_call_not_of_number_assistant")).toEqual([expect.objectContaining({ phone_number_id: s.numberId })]);
  });

  it("a call proves live only the number it was made on, not one the message merely names", async () => {
    const before = await snapshot();
    const message = provingCall(s, "status-update", { call: { ...provingCall(s).call, phoneNumberId: "unknown-number" } });
    (message.phoneNumber as Record<string, unknown>).id = s.vapiNumberId;
    expect((await post({ message })).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });

  it("digits outside the area code the number was made in are not taken while Vapi still hides them", async () => {
    expect((await post({ message: provingCall(s, "status-update", { phoneNumber: { number: "+12125550142" } }) })).status).toBe(200);
    expect(await numberRow(s.numberId)).toMatchObject({ status: "provisioning", number: null });
    expect(logs.events("webhook_digits_not_taken")).toEqual([expect.objectContaining({ phone_number_id: s.numberId })]);
  });

  it("when Vapi shows the number live, its digits are taken, not the message's", async () => {
    await sandbox().setVapiPhoneNumberStatus(s.vapiNumberId, "active");
    const vapiDigits = (await sandbox().vapiPhoneNumbers()).find((n) => n.id === s.vapiNumberId)!.number;
    expect(vapiDigits).not.toBe("+14155550142");
    expect((await post({ message: provingCall(s) })).status).toBe(200);
    expect(await numberRow(s.numberId)).toMatchObject({ status: "active", number: vapiDigits });
  });

  it("Vapi unreachable while the digits are checked: 200, nothing concluded, the number stays provisioning", async () => {
    await inject(faultFor({ service: "vapi", method: "GET", pathPrefix: "/phone-number/" }, "500"));
    const res = await post({ message: provingCall(s) });
    expect(res.status).toBe(200);
    expect(await numberRow(s.numberId)).toMatchObject({ status: "provisioning", number: null });
    expect(logs.events("webhook_number_check_failed")).toHaveLength(1);
  });

  it("a replay of a number's own digits on an active number changes nothing", async () => {
    const active = await seedNumber({ orgId: "org-hooks-c" });
    const before = await snapshot();
    const res = await post({
      message: {
        type: "status-update",
        status: "queued",
        call: { id: "c", phoneNumberId: active.vapiId },
        phoneNumber: { number: active.number },
      },
    });
    expect(res.status).toBe(200);
    expect(await snapshot()).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Generated messages. Fixed seeds; the counts are reported in the closing note.

const RUNS = { valid: 200, mutated: 400, hostile: 400 };
const SEED = 20261203;

const messageShapes = shapes.messages as Record<string, { required: string[]; properties: string[]; enums: Record<string, string[]> }>;
const callEnums = shapes.call.enums as Record<string, string[]>;

/** Values of the fields Switchboard does not read: anything JSON can carry. */
const anything = fc.jsonValue({ maxDepth: 2 });
const e164 = fc.tuple(fc.integer({ min: 2, max: 9 }), fc.stringMatching(/^\d{9}$/)).map(([d, rest]) => `+1${d}${rest}`);

/** A valid message of `type`: required fields with values of their declared kind, some optional ones with anything. */
function validMessage(type: Handled, sc: Scene) {
  const shape = messageShapes[type]!;
  const toolCall = fc.record({
    id: fc.uuid(),
    type: fc.constant("function"),
    function: fc.record({
      name: fc.constantFrom("check_availability", "book_appointment", "toString", "unknown_tool"),
      arguments: fc.dictionary(fc.string({ maxLength: 8 }), anything, { maxKeys: 3 }),
    }),
  });
  const vapiCall = fc.record({
    id: fc.uuid(),
    orgId: fc.uuid(),
    createdAt: fc.constant(new Date().toISOString()),
    updatedAt: fc.constant(new Date().toISOString()),
    type: fc.constantFrom(...callEnums.type!),
    phoneNumberId: fc.constantFrom(sc.vapiNumberId, "not-ours"),
    assistantId: fc.constantFrom(sc.vapiAssistantId, sc.otherVapiAssistantId),
  });
  const extras = shape.properties.filter(
    (p) => !shape.required.includes(p) && !["call", "phoneNumber", "timestamp", "type", "status"].includes(p),
  );
  return fc
    .record({
      status: fc.constantFrom(...(shape.enums.status ?? callEnums.status!)),
      endedReason: fc.constantFrom(...(shapes.endedReasons as string[])),
      timestamp: fc.integer({ min: Date.now() - 23 * HOUR, max: Date.now() }),
      call: vapiCall,
      phoneNumber: fc.record({ number: e164 }),
      toolCallList: fc.array(toolCall, { minLength: 1, maxLength: 3 }),
      extra: fc.dictionary(fc.constantFrom(...extras), anything, { maxKeys: 3 }),
    })
    .map((v) => {
      const message: Record<string, unknown> = { ...v.extra, type, timestamp: v.timestamp, call: v.call, phoneNumber: v.phoneNumber };
      for (const field of shape.required) {
        if (field === "status") message.status = v.status;
        else if (field === "endedReason") message.endedReason = v.endedReason;
        else if (field === "toolCallList") message.toolCallList = v.toolCallList;
        else if (field === "toolWithToolCallList") message.toolWithToolCallList = [];
        else if (field === "artifact" || field === "analysis") message[field] = {};
      }
      return message;
    });
}

/** Values no field Switchboard reads accepts. */
const hostileString = fc.constantFrom(
  "",
  "__proto__",
  "constructor",
  "x".repeat(5000),
  "a\nb",
  "+1415555014\u200b2",
  "١٢٣",
  "../../etc",
  "null",
);
const hostileValue = fc.oneof(hostileString, fc.constantFrom<unknown>(0, -1, 1.5, true, [], {}, [1], { $gt: "" }));
/** A string Vapi could use as an id ("constructor" is one) is not hostile where an id is read. */
const hostileId = hostileValue.filter((v) => !(typeof v === "string" && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(v)));
const hostileTimestamp = fc.oneof(
  fc.constantFrom("now", "1e309", true, [], {}, -1, 0, 8.64e15 + 1),
  fc.integer({ min: 2 * 24 * HOUR, max: 1e12 }).map((ago) => Date.now() - ago),
  fc.integer({ min: HOUR, max: 1e12 }).map((ahead) => Date.now() + ahead),
);

/** One read field of a message set to a hostile value: the field's path and the message. */
const READ_FIELDS: { path: string; types: readonly Handled[] }[] = [
  { path: "call.id", types: HANDLED },
  { path: "call.phoneNumberId", types: HANDLED },
  { path: "call.assistantId", types: HANDLED },
  { path: "phoneNumber.number", types: HANDLED },
  { path: "status", types: ["status-update"] },
  { path: "timestamp", types: ["status-update", "end-of-call-report"] },
];

function set(message: Record<string, any>, path: string, value: unknown) {
  const keys = path.split(".");
  const parent = keys.slice(0, -1).reduce((m, k) => (m[k] = { ...(m[k] ?? {}) }), message);
  parent[keys.at(-1)!] = value;
}

describe("generated server messages", () => {
  it(`valid messages of every handled type (${RUNS.valid} runs): 200 and the answer its type expects`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HANDLED).chain((type) => validMessage(type, s).map((m) => [type, m] as const)),
        async ([type, message]) => {
          const res = await post({ message });
          expect(res.status, await res.clone().text()).toBe(200);
          const body = await json(res);
          if (type === "tool-calls") {
            const ids = (message.toolCallList as { id: string }[]).map((c) => c.id);
            expect(body.results.map((r: { toolCallId: string }) => r.toolCallId)).toEqual(ids);
            for (const r of body.results) expect(typeof (r.result ?? r.error)).toBe("string");
          } else if (type === "transfer-destination-request") {
            expect(typeof (body.destination?.number ?? body.error)).toBe("string");
          } else {
            expect(body).toEqual({});
          }
          // Whatever arrived, a number shows real digits or none, and the other organisation's number is untouched.
          const mine = await numberRow(s.numberId);
          expect(mine!.number === null || /^\+[1-9]\d{6,14}$/.test(mine!.number)).toBe(true);
          expect(await numberRow(s.otherNumberId)).toMatchObject({ status: "provisioning", number: null, last_call_at: null });
        },
      ),
      { numRuns: RUNS.valid, seed: SEED },
    );
  });

  it(`a read field set to a hostile value (${RUNS.mutated} runs): 200, ignored with a warning naming it, no D1 change`, async () => {
    const mutation = fc
      .constantFrom(...READ_FIELDS)
      .chain((field) =>
        fc.tuple(
          fc.constant(field.path),
          fc.constantFrom(...field.types),
          field.path === "timestamp" ? hostileTimestamp : /id$/i.test(field.path) ? hostileId : hostileValue,
        ),
      );
    await fc.assert(
      fc.asyncProperty(mutation, async ([path, type, value]) => {
        // Unmutated, the message would prove the number live and date its call: any change is the mutation's.
        const message: Record<string, any> = provingCall(s, type);
        set(message, path, value);
        const before = await snapshot();
        const warned = logs.events("webhook_message_ignored").length;
        const raw = JSON.stringify({ message }).replace('"1e309"', "1e309");
        const res = await post(raw);
        expect(res.status, await res.clone().text()).toBe(200);
        expect(await snapshot()).toBe(before);
        expect(
          logs
            .events("webhook_message_ignored")
            .slice(warned)
            .map((l) => l.field),
        ).toContain(`message.${path}`);
      }),
      { numRuns: RUNS.mutated, seed: SEED },
    );
  });

  it(`hostile bodies (${RUNS.hostile} runs): never a 5xx, no D1 change`, async () => {
    const hostileMessage = fc.oneof(
      anything,
      fc.record({ type: fc.oneof(fc.constantFrom(...HANDLED, "hang", "__proto__"), fc.string()) }).chain((head) =>
        fc
          .dictionary(
            fc.constantFrom("call", "phoneNumber", "timestamp", "status", "toolCallList", "artifact", "__proto__", "constructor"),
            fc.oneof(anything, hostileValue),
            { maxKeys: 6 },
          )
          .map((rest) => ({
            ...rest,
            ...head,
          })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileMessage.map((m) => ({ message: m })),
          anything,
        ),
        async (body) => {
          const before = await snapshot();
          const res = await post(body);
          expect(res.status, await res.clone().text()).toBeLessThan(500);
          expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: RUNS.hostile, seed: SEED },
    );
  });
});
