import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sandbox } from "../../helpers/api";
import { assistantRowsOf, newOrg } from "../../helpers/assertions";
import {
  createAs,
  created,
  daily,
  expectFailure,
  expectInvariants,
  faultFor,
  inject,
  RETRIED,
  RETRIED_POST,
  sweep,
  type FaultKind,
  type FaultTarget,
  useFaultSuite,
  settleAndCheck,
  vapiAssistantIds,
} from "../../helpers/faults";
import { alertRows } from "../../helpers/operations";
import { numberRows, seedNumber } from "../../helpers/pool";
import { createProvisioning, numberRow, tracker, trackerAlarm } from "../../helpers/provisioning";

/**
 * Faults on the number's Vapi calls: the PATCH that points a pool number at its new assistant (the reuse path),
 * the POST that creates a new free number, and the tracker's GET that checks a provisioning number.
 */

const suite = useFaultSuite();

describe("fault on PATCH /phone-number/:id (pool claim, reuse path)", () => {
  const target: FaultTarget = { service: "vapi", method: "PATCH", pathPrefix: "/phone-number/" };

  async function claimWith(kind: FaultKind, count?: number) {
    const pooled = await seedNumber();
    const org = newOrg();
    const fault = faultFor(target, kind, RETRIED);
    await inject(count === undefined ? fault : { ...fault, count });
    const response = await createAs(org);
    await sandbox().clearFaults();
    return { org, pooled, response };
  }

  /** The claim went back: the number waits unassigned, the half-made assistant is gone, the next create gets it. */
  async function expectClaimReturned(org: string, pooled: { id: string }) {
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    expect((await numberRows()).map((n) => [n.id, n.status, n.assistant_id])).toEqual([[pooled.id, "active", null]]);
    await settleAndCheck();
    expect(await created(newOrg())).toMatchObject({ phone_number_id: pooled.id, phone_source: "pool", phone_status: "active" });
    await expectInvariants();
  }

  it("500 on every attempt → 502 vapi_error; the claim is returned", async () => {
    const { org, pooled, response } = await claimWith("500");
    await expectFailure(response, 502, "vapi_error");
    expect(suite.logs().events("upstream_error")).toEqual([
      expect.objectContaining({ service: "vapi", method: "PATCH", status: 500, attempts: 3 }),
    ]);
    await expectClaimReturned(org, pooled);
  });

  it("429 with Retry-After: 0 → 201 on the pool number", async () => {
    const { pooled, response } = await claimWith("429_retry_after_0");
    const body = await (response.json() as Promise<any>);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_number_id: pooled.id, phone_source: "pool", was_reused: true });
    await settleAndCheck();
  });

  it("429 with Retry-After: 120 → 503 vapi_rate_limited with Retry-After 120; the claim is returned", async () => {
    const { org, pooled, response } = await claimWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "vapi_rate_limited");
    await expectClaimReturned(org, pooled);
  });

  it("timeout on every attempt → 502 vapi_unavailable; the claim is returned", async () => {
    const { org, pooled, response } = await claimWith("timeout");
    await expectFailure(response, 502, "vapi_unavailable");
    expect(suite.logs().events("upstream_failed")).toEqual([
      expect.objectContaining({ service: "vapi", method: "PATCH", failure: "timeout", attempts: 3 }),
    ]);
    await expectClaimReturned(org, pooled);
  });

  it("timeout after Vapi re-pointed it, once → the PATCH is resent (idempotent) → 201", async () => {
    const { pooled, response } = await claimWith("timeout_after_processing", 1);
    const body = await (response.json() as Promise<any>);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body.phone_number_id).toBe(pooled.id);
    await settleAndCheck();
  });

  it("timeout after Vapi re-pointed it, on every attempt → 502; Vapi points the number at the deleted assistant until the daily reconcile detaches it", async () => {
    const { org, pooled, response } = await claimWith("timeout_after_processing");
    await expectFailure(response, 502, "vapi_unavailable");
    expect(await assistantRowsOf(org)).toEqual([]);
    const [inVapi] = await sandbox().vapiPhoneNumbers();
    expect(inVapi!.assistantId).toEqual(expect.any(String));
    expect(await vapiAssistantIds()).toEqual([]);
    await sweep(11);
    await expectInvariants();
    await daily();
    expect(suite.logs().events("vapi_number_assistant_repaired")).toEqual([
      expect.objectContaining({ phone_number_id: pooled.id, to: null }),
    ]);
    await expectInvariants({ reconciled: true });
    expect((await created(newOrg())).phone_number_id).toBe(pooled.id);
  });

  it("malformed JSON → 502 vapi_error; the claim is returned", async () => {
    const { org, pooled, response } = await claimWith("malformed");
    await expectFailure(response, 502, "vapi_error");
    await expectClaimReturned(org, pooled);
  });
});

describe("fault on POST /phone-number (new free number)", () => {
  const target: FaultTarget = { service: "vapi", method: "POST", pathPrefix: "/phone-number" };

  async function createNumberWith(kind: FaultKind) {
    const org = newOrg();
    await inject(faultFor(target, kind, RETRIED_POST));
    const response = await createAs(org, { area_code: "512" });
    await sandbox().clearFaults();
    return { org, response };
  }

  /** The reservation was dropped and the assistant undone: no row, nothing in Vapi. */
  async function expectNothingKept(org: string) {
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await numberRows()).toEqual([]);
    expect(await sandbox().vapiPhoneNumbers()).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    await settleAndCheck();
  }

  it("500 on every attempt → 502 vapi_error; Vapi is searched for a number it may have made; nothing kept", async () => {
    const { org, response } = await createNumberWith("500");
    await expectFailure(response, 502, "vapi_error");
    const calls = await sandbox().requests("vapi");
    expect(calls.filter((c) => c.method === "POST" && c.path === "/phone-number").map((c) => c.status)).toEqual([500, 500, 500]);
    // A 5xx may have acted: the orphan lookup by name ran.
    expect(calls.some((c) => c.method === "GET" && c.path.startsWith("/phone-number?"))).toBe(true);
    await expectNothingKept(org);
  });

  it("429 with Retry-After: 0 → 201, a new number provisioning", async () => {
    const { org, response } = await createNumberWith("429_retry_after_0");
    const body = await (response.json() as Promise<any>);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_source: "new", phone_status: "provisioning" });
    expect((await assistantRowsOf(org)).map((r) => r.state)).toEqual(["active"]);
    await settleAndCheck();
  });

  it("429 with Retry-After: 120 → 503 vapi_rate_limited with Retry-After 120; nothing kept", async () => {
    const { org, response } = await createNumberWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "vapi_rate_limited");
    await expectNothingKept(org);
  });

  it("timeout before Vapi acts → 502 vapi_unavailable (never resent); nothing kept", async () => {
    const { org, response } = await createNumberWith("timeout");
    await expectFailure(response, 502, "vapi_unavailable");
    expect((await sandbox().requests("vapi")).filter((c) => c.method === "POST" && c.path === "/phone-number")).toHaveLength(1);
    await expectNothingKept(org);
  });

  it("timeout after Vapi made the number → 502; the number is found by its name and deleted", async () => {
    const { org, response } = await createNumberWith("timeout_after_processing");
    await expectFailure(response, 502, "vapi_unavailable");
    expect((await sandbox().requests("vapi")).filter((c) => c.method === "DELETE" && c.path.startsWith("/phone-number/"))).toHaveLength(1);
    await expectNothingKept(org);
  });

  it("timeout after Vapi made the number, and the lookup fails → 502, logged; the daily reconcile adopts the orphan into the pool with an alert", async () => {
    const org = newOrg();
    await inject(faultFor(target, "timeout_after_processing", RETRIED_POST));
    await inject({ service: "vapi", method: "GET", pathPrefix: "/phone-number", count: 3, kind: "status", status: 500 });
    await expectFailure(await createAs(org, { area_code: "512" }), 502, "vapi_unavailable");
    await sandbox().clearFaults();
    expect(suite.logs().events("orphan_number_cleanup_failed")).toHaveLength(1);
    expect(await numberRows()).toEqual([]);
    const [orphan] = await sandbox().vapiPhoneNumbers();
    expect(orphan!.name).toMatch(/^sb-/);

    await sweep(11);
    await expectInvariants();
    await daily();
    const [adopted] = await numberRows();
    expect(adopted).toMatchObject({
      id: String(orphan!.name).slice(3),
      vapi_phone_number_id: orphan!.id,
      assistant_id: null,
      org_id: null,
      source: "vapi_free",
    });
    expect(await alertRows("orphan_adopted")).toEqual([expect.objectContaining({ subject: adopted!.id, status: "open" })]);
    await expectInvariants({ reconciled: true });
  });

  it("a second Vapi number named for a row that has its own (a POST resent after a 5xx that had acted) is deleted by the daily reconcile, freeing its slot (simulated by seeding the duplicate)", async () => {
    const body = await created(newOrg(), { area_code: "512" });
    // What Vapi holds if the first, failed POST had in fact made a number before the retry made this row's one.
    await sandbox().seedVapiPhoneNumber({ name: `sb-${body.phone_number_id}`, areaCode: "512" });
    await daily();
    await expectInvariants({ reconciled: true });
  });

  it("Vapi made the number but its answer cannot be read → 502; the number is found by its name and deleted", async () => {
    const { org, response } = await createNumberWith("malformed_after_processing");
    await expectFailure(response, 502, "vapi_error");
    expect((await sandbox().requests("vapi")).filter((c) => c.method === "DELETE" && c.path.startsWith("/phone-number/"))).toHaveLength(1);
    await expectNothingKept(org);
  });

  it("malformed JSON → 502 vapi_error; nothing kept", async () => {
    const { org, response } = await createNumberWith("malformed");
    await expectFailure(response, 502, "vapi_error");
    await expectNothingKept(org);
  });
});

describe("fault on GET /phone-number/:id (the tracker's check)", () => {
  const target: FaultTarget = { service: "vapi", method: "GET", pathPrefix: "/phone-number/" };

  /** One check under the fault: it counts as an attempt, the number stays provisioning, the tracker keeps going. */
  async function checkWith(kind: FaultKind) {
    const p = await createProvisioning(newOrg());
    await inject(faultFor(target, kind, RETRIED));
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await sandbox().clearFaults();
    expect(await numberRow(p.numberId)).toMatchObject({ status: "provisioning", provisioning_attempts: 1 });
    expect(await trackerAlarm(p.trackerKey)).not.toBeNull();
    return p;
  }

  /** The sweep finds the tracker armed, the invariants hold; once Vapi activates the number, the next check sees it. */
  async function recovers(p: Awaited<ReturnType<typeof createProvisioning>>) {
    await sweep(1);
    expect(suite.logs().events("tracker_rearmed")).toEqual([]);
    await expectInvariants();
    await sandbox().advanceClock(30);
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect(await numberRow(p.numberId)).toMatchObject({ status: "active" });
    await expectInvariants();
    await daily();
    await expectInvariants({ reconciled: true });
  }

  it("500 on every attempt → counted, logged with the error, still provisioning", async () => {
    const p = await checkWith("500");
    expect((await tracker(p.trackerKey).state())!.lastError).toContain("Injected fault");
    expect(suite.logs().events("provisioning_check_failed")).toEqual([
      expect.objectContaining({ phone_number_id: p.numberId, attempts: 1 }),
    ]);
    await recovers(p);
  });

  it("429 with Retry-After: 0 → retried within the check, no error", async () => {
    const p = await checkWith("429_retry_after_0");
    expect((await tracker(p.trackerKey).state())!.lastError).toBeNull();
    await recovers(p);
  });

  it("429 with Retry-After: 120 → counted as a failed check, the next one goes ahead", async () => {
    const p = await checkWith("429_retry_after_120");
    expect((await tracker(p.trackerKey).state())!.lastError).toContain("Injected fault");
    await recovers(p);
  });

  it("timeout on every attempt → counted, still provisioning", async () => {
    const p = await checkWith("timeout");
    expect((await tracker(p.trackerKey).state())!.lastError).toMatch(/no answer within/);
    await recovers(p);
  });

  it("timeout after processing on every attempt (a read: same as a timeout) → counted", async () => {
    const p = await checkWith("timeout_after_processing");
    expect((await tracker(p.trackerKey).state())!.lastError).toMatch(/no answer within/);
    await recovers(p);
  });

  it("malformed JSON → counted as a failed check, still provisioning", async () => {
    const p = await checkWith("malformed");
    expect((await tracker(p.trackerKey).state())!.lastError).toMatch(/unexpected response/);
    await recovers(p);
  });

  it("the last check fails → stuck with a provisioning_stuck alert, tracking ends; totals count it as stuck", async () => {
    const p = await createProvisioning(newOrg());
    for (let i = 1; i < 40; i++) expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await inject(faultFor(target, "500", RETRIED));
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await sandbox().clearFaults();
    expect(await numberRow(p.numberId)).toMatchObject({ status: "stuck", provisioning_attempts: 40 });
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    expect(await alertRows("provisioning_stuck")).toEqual([expect.objectContaining({ subject: p.numberId, status: "open" })]);
    await sweep(11);
    await expectInvariants();
    await daily();
    await expectInvariants({ reconciled: true });
  });

  it("every check fails until the deadline → the sweep marks it stuck with an alert and stops the tracker", async () => {
    const p = await createProvisioning(newOrg());
    await inject({ ...faultFor(target, "500", RETRIED), count: 30 });
    for (let i = 0; i < 10; i++) expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await sandbox().clearFaults();
    expect(await numberRow(p.numberId)).toMatchObject({ status: "provisioning", provisioning_attempts: 10 });
    await sweep(11);
    expect(await numberRow(p.numberId)).toMatchObject({ status: "stuck" });
    expect(await alertRows("provisioning_stuck")).toEqual([expect.objectContaining({ subject: p.numberId, status: "open" })]);
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    await expectInvariants();
  });
});
