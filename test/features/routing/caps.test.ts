import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ALL_LINES_BUSY } from "../../../src/features/routing/assistant-request";
import { CallCounter, LIVE_CALL_BOUND_MS } from "../../../src/features/routing/call-counter";
import { json, sampleBusiness, token } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import { adminToken, alertRows } from "../../helpers/operations";
import { sendWith } from "../../helpers/routing";
import { resetState, seedNumber } from "../../helpers/pool";

type Vars = Record<string, string>;

const send = sendWith;

const EDGE = { ROUTING_MODE: "edge" };
const DIRECT = { ROUTING_MODE: "direct" };
const counter = () => env.CALL_COUNTER.getByName("account");

const message = (vars: Vars, body: Record<string, unknown>) =>
  send(vars, "POST", "/webhooks/vapi", { token: null, body: { message: body } });
const assistantRequest = (vars: Vars, callId: string, phoneNumberId: string) =>
  message(vars, { type: "assistant-request", call: { id: callId, type: "inboundPhoneCall", phoneNumberId } }).then(json);
const inProgress = (vars: Vars, callId: string, phoneNumberId: string) =>
  message(vars, { type: "status-update", status: "in-progress", call: { id: callId, phoneNumberId }, timestamp: Date.now() });
const ended = (vars: Vars, callId: string, phoneNumberId: string) =>
  message(vars, {
    type: "end-of-call-report",
    endedReason: "customer-ended-call",
    call: { id: callId, phoneNumberId },
    timestamp: Date.now(),
  });

/** An organisation with an assistant on a number of its own, a cap and (optionally) a fallback line. */
async function orgWithAssistant(vars: Vars, cap: number | null, fallback?: string) {
  const org = newOrg();
  const number = await seedNumber({ orgId: org });
  const created = await send(vars, "POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } });
  const assistant = await json(created);
  expect(assistant.phone_number_id).toBe(number.id);
  const limits = await send(vars, "PUT", `/api/admin/organizations/${org}/limits`, {
    token: await adminToken(),
    body: { max_concurrent_calls: cap },
  });
  expect(await json(limits)).toEqual({ org_id: org, max_concurrent_calls: cap });
  if (fallback)
    await send(vars, "PUT", "/api/organization/fallback", { token: await token({ org, role: "owner" }), body: { phone: fallback } });
  return { org, number, assistant };
}

beforeEach(async () => {
  await resetState();
  await env.DB.prepare("DELETE FROM organizations").run();
  await runInDurableObject(counter(), (_instance, state) => void state.storage.sql.exec("DELETE FROM calls"));
});

describe("concurrent-call caps", () => {
  it("edge, a cap of 1 and two simultaneous calls: one reaches the assistant, the other the fallback line; an end frees the place", async () => {
    const { number, assistant } = await orgWithAssistant(EDGE, 1, "+15125550100");
    const [first, second] = await Promise.all([
      assistantRequest(EDGE, "call-1", number.vapiId),
      assistantRequest(EDGE, "call-2", number.vapiId),
    ]);
    const answers = [first, second];
    expect(answers).toContainEqual({ assistantId: assistant.vapi_assistant_id });
    expect(answers).toContainEqual({ destination: expect.objectContaining({ type: "number", number: "+15125550100" }) });

    const admitted = "assistantId" in first ? "call-1" : "call-2";
    await inProgress(EDGE, admitted, number.vapiId);
    expect(await assistantRequest(EDGE, "call-3", number.vapiId)).toHaveProperty("destination");
    await ended(EDGE, admitted, number.vapiId);
    expect(await assistantRequest(EDGE, "call-4", number.vapiId)).toEqual({ assistantId: assistant.vapi_assistant_id });
    // A replayed request for a call already let in gets the same answer, and is not counted twice.
    expect(await assistantRequest(EDGE, "call-4", number.vapiId)).toEqual({ assistantId: assistant.vapi_assistant_id });
    expect((await counter().live()).total).toBe(1);
  });

  it("edge, the account at its total: an organisation without a fallback line hears a polite 'all lines are busy'", async () => {
    const vars = { ...EDGE, VAPI_CONCURRENCY_LIMIT: "1" };
    const a = await orgWithAssistant(vars, null);
    const b = await orgWithAssistant(vars, null);
    expect(await assistantRequest(vars, "a-1", a.number.vapiId)).toEqual({ assistantId: a.assistant.vapi_assistant_id });
    expect(await assistantRequest(vars, "b-1", b.number.vapiId)).toEqual({ error: ALL_LINES_BUSY });
  });

  it("direct: caps are measured and alerted, not enforced; the overview shows live calls per organisation against caps", async () => {
    const { org, number } = await orgWithAssistant(DIRECT, 1);
    await inProgress(DIRECT, "d-1", number.vapiId);
    await inProgress(DIRECT, "d-2", number.vapiId);
    expect(await alertRows("calls_over_cap")).toEqual([expect.objectContaining({ subject: org, status: "open" })]);

    const overview = await json(await send(DIRECT, "GET", "/api/admin/phone-pool", { token: await adminToken() }));
    expect(overview.calls).toEqual({
      routing_mode: "direct",
      live: 2,
      limit: 10,
      organizations: [{ org_id: org, live: 2, max_concurrent_calls: 1 }],
    });

    await ended(DIRECT, "d-2", number.vapiId);
    expect(await alertRows("calls_over_cap")).toEqual([expect.objectContaining({ subject: org, status: "resolved" })]);
  });

  it("counts each call once whatever the order: replays, an end before its start, a restart mid-call, and calls that never end", async () => {
    const { number } = await orgWithAssistant(DIRECT, null);
    for (let i = 0; i < 3; i++) await inProgress(DIRECT, "r-1", number.vapiId);
    expect((await counter().live()).total).toBe(1);

    // The end arrives first: the late "in progress" does not revive the call.
    await ended(DIRECT, "r-2", number.vapiId);
    await inProgress(DIRECT, "r-2", number.vapiId);
    expect((await counter().live()).total).toBe(1);

    // A fresh instance on the same storage (the object restarted mid-call) counts the same.
    const afterRestart = await runInDurableObject(counter(), (_instance, state) => new CallCounter(state, env).live());
    expect(afterRestart.total).toBe(1);

    // A call whose end never came stops counting after the bound.
    const later = Date.now() + LIVE_CALL_BOUND_MS + 1000;
    expect(await runInDurableObject(counter(), (instance: CallCounter) => instance.live(later).total)).toBe(0);
  });

  it("PUT /api/admin/organizations/:org_id/limits refuses a bad cap (400) and anyone but a platform_admin (403)", async () => {
    const org = newOrg();
    const bad = await send(DIRECT, "PUT", `/api/admin/organizations/${org}/limits`, {
      token: await adminToken(),
      body: { max_concurrent_calls: -1 },
    });
    expect(bad.status).toBe(400);
    const owner = await send(DIRECT, "PUT", `/api/admin/organizations/${org}/limits`, {
      token: await token({ org, role: "owner" }),
      body: { max_concurrent_calls: 2 },
    });
    expect(owner.status).toBe(403);
  });
});
