import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { validateVapiBody } from "../../../dev/sandbox/json-schema";
import { createApp } from "../../../src/app";
import { CONNECTING } from "../../../src/features/routing/assistant-request";
import { FALLBACK_SYNC_BATCH, syncAllFallbacks, syncFallbacks } from "../../../src/features/routing/fallback";
import { createUpstreams } from "../../../src/integrations/index";
import { createLogger } from "../../../src/platform/log";
import { loadSettings } from "../../../src/platform/settings";
import { json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import { captureLogs, faultFor, HOUR, inject } from "../../helpers/faults";
import { opsDeps, runCron } from "../../helpers/operations";
import { resetState, seedNumber } from "../../helpers/pool";

const app = createApp();
type Mode = "direct" | "edge";

const LINE = "+15125550100";
const OTHER_LINE = "+15125550111";
const CONTACT = { name: "Dana (on call)", phone: "+15125550199" };

/**
 * The worker with ROUTING_MODE set, with an execution context as Cloudflare runs a request: the response is taken
 * first (its cost headers are the request's own), then what it handed to `waitUntil` is waited for.
 */
async function send(mode: Mode, method: string, path: string, options: { org?: string; role?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Authorization: `Bearer ${await token({ org: options.org ?? "org-a", role: options.role ?? "member" })}`,
  };
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const background: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void background.push(promise), passThroughOnException: () => {}, props: {} };
  const response = await app.request(
    `https://switchboard.test${path}`,
    { method, headers, body },
    { ...env, ROUTING_MODE: mode },
    ctx as unknown as ExecutionContext,
  );
  const upstreamCalls = response.headers.get("X-Upstream-Calls");
  const d1RoundTrips = response.headers.get("X-D1-Round-Trips");
  const backgroundTasks = background.length;
  await Promise.all(background);
  return { response, upstreamCalls, d1RoundTrips, backgroundTasks };
}

async function createIn(mode: Mode, org: string) {
  const { response, upstreamCalls, d1RoundTrips, backgroundTasks } = await send(mode, "POST", "/api/assistants", {
    org,
    body: { business_data: sampleBusiness },
  });
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBe(201);
  return { assistant: body, upstreamCalls, d1RoundTrips, backgroundTasks };
}

const setLine = async (mode: Mode, org: string, phone: string | null) => {
  const { response } = await send(mode, phone ? "PUT" : "DELETE", "/api/organization/fallback", {
    org,
    role: "owner",
    body: phone ? { phone } : undefined,
  });
  expect(response.status).toBe(phone ? 200 : 204);
};

/** The number's `fallbackDestination` in the simulated Vapi account. */
const fallbackInVapi = async (vapiId: string) => (await sandbox().vapiPhoneNumbers()).find((n) => n.id === vapiId)!.fallbackDestination;
const recordedFallback = async (numberId: string) =>
  (await env.DB.prepare("SELECT vapi_fallback AS f FROM phone_numbers WHERE id = ?").bind(numberId).first("f")) as string | null;
const destination = (number: string) => ({ type: "number", number, message: CONNECTING });

const fallbackPatches = async () =>
  (await sandbox().requests("vapi")).filter((r) => r.method === "PATCH" && r.body && "fallbackDestination" in r.body);

/** Every Vapi request was accepted by the sandbox, which checks each body against Vapi's spec. */
async function expectAllValid() {
  expect((await sandbox().requests("vapi")).filter((r) => r.status >= 400)).toEqual([]);
  for (const r of await fallbackPatches()) expect(validateVapiBody("UpdateVapiPhoneNumberDTO", r.body)).toEqual([]);
}

let logs: ReturnType<typeof captureLogs>;
beforeEach(async () => {
  await resetState();
  await env.DB.prepare("DELETE FROM organizations").run();
  logs = captureLogs();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await sandbox().clearFaults();
});

describe("edge routing: each number's fallbackDestination in Vapi", () => {
  it("a reuse gives the number its organisation's line after the response: the request itself calls Vapi once, for the assistant", async () => {
    const org = newOrg();
    const number = await seedNumber();
    await setLine("edge", org, LINE);
    await sandbox().clearRequests();

    const { assistant, upstreamCalls, d1RoundTrips, backgroundTasks } = await createIn("edge", org);
    expect(assistant).toMatchObject({ phone_source: "pool", phone_number_id: number.id });
    // The reuse's own cost, as without the fallback: its two batches and the Vapi assistant.
    expect([d1RoundTrips, upstreamCalls]).toEqual(["2", "1"]);
    expect(backgroundTasks).toBe(1);
    const calls = await sandbox().requests("vapi");
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /assistant", `PATCH /phone-number/${number.vapiId}`]);
    // The background PATCH carries the fallback only: the number stays bare.
    expect(calls[1]!.body).toEqual({ fallbackDestination: destination(LINE) });
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(LINE));
    expect((await sandbox().vapiPhoneNumbers()).find((n) => n.id === number.vapiId)!.assistantId).toBeUndefined();
    expect(await recordedFallback(number.id)).toBe(LINE);
    await expectAllValid();
  });

  it("a reuse by an assistant whose organisation has no line sends nothing: the number has no fallback to carry", async () => {
    const number = await seedNumber();
    await sandbox().clearRequests();
    const { upstreamCalls } = await createIn("edge", newOrg());
    expect(upstreamCalls).toBe("1");
    expect(await fallbackPatches()).toEqual([]);
    expect(await fallbackInVapi(number.vapiId)).toBeUndefined();
  });

  it("follows the emergency contact (which wins over the line) and the organisation's line as they change", async () => {
    const org = newOrg();
    const number = await seedNumber();
    await setLine("edge", org, LINE);
    const { assistant } = await createIn("edge", org);
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(LINE));

    const set = await send("edge", "PUT", `/api/assistants/${assistant.id}/emergency-contact`, { org, body: CONTACT });
    expect(set.response.status).toBe(200);
    expect(set.upstreamCalls).toBe("1"); // the assistant's transfer tool; the number follows after the response
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(CONTACT.phone));
    expect(await recordedFallback(number.id)).toBe(CONTACT.phone);

    // The contact still wins: a new line changes nothing in Vapi.
    await sandbox().clearRequests();
    await setLine("edge", org, OTHER_LINE);
    expect(await fallbackPatches()).toEqual([]);

    const removed = await send("edge", "DELETE", `/api/assistants/${assistant.id}/emergency-contact`, { org });
    expect(removed.response.status).toBe(204);
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(OTHER_LINE));

    await setLine("edge", org, LINE);
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(LINE));
    expect(await recordedFallback(number.id)).toBe(LINE);
    await expectAllValid();
  });

  it("a removed line cannot be cleared in Vapi: the number keeps its last one, D1 says so, and it is logged", async () => {
    const org = newOrg();
    const number = await seedNumber();
    await setLine("edge", org, LINE);
    await createIn("edge", org);
    await sandbox().clearRequests();

    await setLine("edge", org, null);
    expect(await fallbackPatches()).toEqual([]);
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(LINE));
    expect(await recordedFallback(number.id)).toBe(LINE);
    expect(logs.events("fallback_not_cleared")).toEqual([
      expect.objectContaining({ level: "warn", count: 1, phone_number_ids: [number.id] }),
    ]);
  });

  it("deletion: an organisation's own number falls back to its line; a shared one keeps its last fallback (logged)", async () => {
    const org = newOrg();
    const own = await seedNumber({ orgId: org });
    await setLine("edge", org, LINE);
    const { assistant: first } = await createIn("edge", org);
    expect(first.phone_number_id).toBe(own.id);
    await send("edge", "PUT", `/api/assistants/${first.id}/emergency-contact`, { org, body: CONTACT });
    expect(await fallbackInVapi(own.vapiId)).toEqual(destination(CONTACT.phone));

    const deleted = await send("edge", "DELETE", `/api/assistants/${first.id}`, { org });
    expect(deleted.response.status).toBe(204);
    expect(deleted.upstreamCalls).toBe("1"); // the Vapi assistant
    expect(await fallbackInVapi(own.vapiId)).toEqual(destination(LINE));
    expect(await recordedFallback(own.id)).toBe(LINE);

    const other = newOrg();
    const shared = await seedNumber();
    await setLine("edge", other, OTHER_LINE);
    const { assistant: second } = await createIn("edge", other);
    expect(second.phone_number_id).toBe(shared.id);
    expect(await fallbackInVapi(shared.vapiId)).toEqual(destination(OTHER_LINE));
    await sandbox().clearRequests();

    expect((await send("edge", "DELETE", `/api/assistants/${second.id}`, { org: other })).response.status).toBe(204);
    expect(await fallbackPatches()).toEqual([]);
    expect(await fallbackInVapi(shared.vapiId)).toEqual(destination(OTHER_LINE));
    expect(await recordedFallback(shared.id)).toBe(OTHER_LINE);
    expect(logs.events("fallback_not_cleared")).toEqual([expect.objectContaining({ phone_number_ids: [shared.id] })]);

    // The next assistant to take it gives it its own organisation's line.
    const third = newOrg();
    await setLine("edge", third, LINE);
    await createIn("edge", third);
    expect(await fallbackInVapi(shared.vapiId)).toEqual(destination(LINE));
    await expectAllValid();
  });

  it("a number given to an assistant that lost its own (POST …/phone) gets the fallback too", async () => {
    const org = newOrg();
    const first = await seedNumber();
    await setLine("edge", org, LINE);
    const { assistant } = await createIn("edge", org);
    // Its number vanished from Vapi: released, and the assistant holds none.
    await env.DB.prepare("UPDATE phone_numbers SET status = 'released', assistant_id = NULL WHERE id = ?").bind(first.id).run();
    const next = await seedNumber();
    const assigned = await send("edge", "POST", `/api/assistants/${assistant.id}/phone`, { org, body: {} });
    expect(assigned.response.status, JSON.stringify(await json(assigned.response.clone()))).toBe(200);
    expect(assigned.upstreamCalls).toBe("0");
    expect(await fallbackInVapi(next.vapiId)).toEqual(destination(LINE));
  });

  it("a failed sync is logged and left; the daily reconciliation sets it, and repairs a fallback changed by hand in Vapi", async () => {
    const org = newOrg();
    const number = await seedNumber();
    const other = await seedNumber({ orgId: org });
    await inject(faultFor({ service: "vapi", method: "PATCH", pathPrefix: `/phone-number/${number.vapiId}` }, "500"));
    await setLine("edge", org, LINE);
    expect(await fallbackInVapi(other.vapiId)).toEqual(destination(LINE));
    await createIn("edge", org); // takes the organisation's own number first
    const { assistant } = await createIn("edge", org);
    expect(assistant.phone_number_id).toBe(number.id);
    expect(logs.events("fallback_sync_failed")).toEqual([expect.objectContaining({ level: "warn", phone_number_id: number.id })]);
    expect(await fallbackInVapi(number.vapiId)).toBeUndefined();
    expect(await recordedFallback(number.id)).toBeNull();
    await sandbox().clearFaults();

    // By hand, in Vapi's dashboard: someone's own mobile.
    const vapi = createUpstreams(env, loadSettings(env), createLogger({ test: true })).vapi;
    await vapi.updatePhoneNumber(other.vapiId, { fallbackDestination: { type: "number", number: "+15125550777" } });

    await runCron("17 3 * * *", Date.now() + 2 * HOUR, { ROUTING_MODE: "edge" });
    expect(await fallbackInVapi(number.vapiId)).toEqual(destination(LINE));
    expect(await fallbackInVapi(other.vapiId)).toEqual(destination(LINE));
    expect(await recordedFallback(number.id)).toBe(LINE);
    expect(await recordedFallback(other.id)).toBe(LINE);
    expect(logs.events("vapi_number_fallback_changed")).toEqual([
      expect.objectContaining({ phone_number_id: other.id, recorded: LINE, in_vapi: "+15125550777" }),
    ]);
    expect(logs.events("reconcile_numbers_done")).toEqual([expect.objectContaining({ fallback_changed_in_vapi: 1, fallbacks_updated: 2 })]);

    // Nothing differs any more: the next run changes nothing.
    await sandbox().clearRequests();
    await runCron("17 3 * * *", Date.now() + 3 * HOUR, { ROUTING_MODE: "edge" });
    expect(await fallbackPatches()).toEqual([]);
    await expectAllValid();
  });
});

describe("syncFallbacks", () => {
  const edgeDeps = () => opsDeps({ settings: { ROUTING_MODE: "edge" } });

  it("reads once, changes only what differs, and pages through every number a batch at a time", async () => {
    const org = newOrg();
    await env.DB.prepare("INSERT INTO organizations (id, fallback_phone, created_at, updated_at) VALUES (?, ?, ?, ?)")
      .bind(org, LINE, new Date().toISOString(), new Date().toISOString())
      .run();
    const seeded = [];
    for (let i = 0; i < FALLBACK_SYNC_BATCH + 1; i++) seeded.push(await seedNumber({ orgId: org }));
    await sandbox().clearRequests();

    const deps = await edgeDeps();
    const first = await syncFallbacks(deps, { orgId: org });
    expect(first).toMatchObject({ differing: FALLBACK_SYNC_BATCH, updated: FALLBACK_SYNC_BATCH, failed: 0, not_cleared: [] });
    expect(first.next).not.toBeNull();
    expect(deps.cost.d1).toBe(1 + FALLBACK_SYNC_BATCH); // the read, then one guarded record per number
    expect(await syncAllFallbacks(deps)).toMatchObject({ differing: 1, updated: 1 });
    expect(await fallbackPatches()).toHaveLength(FALLBACK_SYNC_BATCH + 1);

    const again = await edgeDeps();
    expect(await syncFallbacks(again, { orgId: org })).toMatchObject({ differing: 0, updated: 0, next: null });
    expect(again.cost).toMatchObject({ d1: 1, upstream: {} });
    for (const n of seeded.slice(0, 3)) expect(await recordedFallback(n.id)).toBe(LINE);
  });

  it("records the fallback only if no other sync recorded one meanwhile", async () => {
    const org = newOrg();
    const number = await seedNumber({ orgId: org });
    await env.DB.prepare("INSERT INTO organizations (id, fallback_phone, created_at, updated_at) VALUES (?, ?, ?, ?)")
      .bind(org, LINE, new Date().toISOString(), new Date().toISOString())
      .run();
    const deps = await edgeDeps();
    const vapi = deps.vapi;
    // A concurrent sync records its own value while this one's PATCH is in flight.
    const racing = {
      ...vapi,
      updatePhoneNumber: async (...args: Parameters<typeof vapi.updatePhoneNumber>) => {
        await env.DB.prepare("UPDATE phone_numbers SET vapi_fallback = ? WHERE id = ?").bind(OTHER_LINE, number.id).run();
        return vapi.updatePhoneNumber(...args);
      },
    };
    expect(await syncFallbacks({ ...deps, vapi: racing }, { numberIds: [number.id] })).toMatchObject({ updated: 1 });
    expect(await recordedFallback(number.id)).toBe(OTHER_LINE);
  });

  it("does nothing in direct routing", async () => {
    const org = newOrg();
    await seedNumber({ orgId: org });
    await env.DB.prepare("INSERT INTO organizations (id, fallback_phone, created_at, updated_at) VALUES (?, ?, ?, ?)")
      .bind(org, LINE, new Date().toISOString(), new Date().toISOString())
      .run();
    const deps = await opsDeps({ settings: { ROUTING_MODE: "direct" } });
    expect(await syncAllFallbacks(deps)).toMatchObject({ differing: 0, updated: 0 });
    expect(deps.cost.d1).toBe(0);
  });
});

describe("direct routing", () => {
  it("never sends a fallbackDestination: not on reuse, contact or line changes, deletion, nor the daily reconciliation", async () => {
    const org = newOrg();
    const own = await seedNumber({ orgId: org });
    await seedNumber();
    await setLine("direct", org, LINE);
    const { assistant, backgroundTasks } = await createIn("direct", org);
    const contact = await send("direct", "PUT", `/api/assistants/${assistant.id}/emergency-contact`, { org, body: CONTACT });
    await setLine("direct", org, OTHER_LINE);
    const deleted = await send("direct", "DELETE", `/api/assistants/${assistant.id}`, { org });
    await createIn("direct", newOrg());
    expect([backgroundTasks, contact.backgroundTasks, deleted.backgroundTasks]).toEqual([0, 0, 0]);
    await runCron("17 3 * * *", Date.now() + 2 * HOUR, { ROUTING_MODE: "direct" });

    expect(await fallbackPatches()).toEqual([]);
    expect((await sandbox().vapiPhoneNumbers()).every((n) => n.fallbackDestination === undefined)).toBe(true);
    expect(await recordedFallback(own.id)).toBeNull();
    await expectAllValid();
  });
});
