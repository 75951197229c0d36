import { describe, expect, it } from "vitest";
import { call, json, sandbox, token } from "../../helpers/api";
import { assistantRowsOf, newOrg } from "../../helpers/assertions";
import {
  createAs,
  created,
  daily,
  expectFailure,
  expectInvariants,
  faultFor,
  inject,
  RETRIED_POST,
  sweep,
  type FaultKind,
  type FaultTarget,
  useFaultSuite,
  settleAndCheck,
  vapiAssistantIds,
} from "../../helpers/faults";
import { numberRows, seedNumber } from "../../helpers/pool";

/**
 * Faults on the assistant's own Vapi calls: `POST /assistant` while creating, `DELETE /assistant/:id` while
 * deleting. After each fault and the crons, the invariants hold.
 */

const suite = useFaultSuite();

describe("fault on POST /assistant (create assistant, reuse path)", () => {
  const target: FaultTarget = { service: "vapi", method: "POST", pathPrefix: "/assistant" };

  /** A pool number waits, so each failure must also give the claim back. */
  async function createWith(kind: FaultKind) {
    const pooled = await seedNumber();
    const org = newOrg();
    await inject(faultFor(target, kind, RETRIED_POST));
    const response = await createAs(org);
    await sandbox().clearFaults();
    return { org, pooled, response };
  }

  /** A failed create kept nothing, and its number is the next assistant's. */
  async function expectNothingKept(org: string, pooled: { id: string }) {
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    expect((await numberRows()).map((n) => [n.id, n.assistant_id])).toEqual([[pooled.id, null]]);
    await settleAndCheck();
    const next = await created(newOrg());
    expect(next).toMatchObject({ phone_number_id: pooled.id, phone_source: "pool", was_reused: true });
    await expectInvariants();
  }

  it("500 on every attempt → 502 vapi_error after 3 attempts, logged; nothing kept, the claim returned", async () => {
    const { org, pooled, response } = await createWith("500");
    await expectFailure(response, 502, "vapi_error");
    const posts = (await sandbox().requests("vapi")).filter((r) => r.method === "POST" && r.path === "/assistant");
    expect(posts.map((p) => p.status)).toEqual([500, 500, 500]);
    expect(suite.logs().events("upstream_error")).toEqual([
      expect.objectContaining({ service: "vapi", method: "POST", path: "/assistant", status: 500, attempts: 3 }),
    ]);
    expect(suite.logs().events("assistant_creation_abandoned")).toHaveLength(1);
    await expectNothingKept(org, pooled);
  });

  it("429 with Retry-After: 0 → retried at once → 201 on the pool number", async () => {
    const { org, pooled, response } = await createWith("429_retry_after_0");
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_number_id: pooled.id, phone_source: "pool", phone_status: "active" });
    expect((await assistantRowsOf(org)).map((r) => r.state)).toEqual(["active"]);
    await settleAndCheck();
  });

  it("429 with Retry-After: 120 → not waited for: 503 vapi_rate_limited with Retry-After 120; nothing kept", async () => {
    const { org, pooled, response } = await createWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "vapi_rate_limited");
    expect(suite.logs().events("upstream_error")).toEqual([expect.objectContaining({ service: "vapi", status: 429, attempts: 1 })]);
    await expectNothingKept(org, pooled);
  });

  it("timeout before Vapi acts → 502 vapi_unavailable (a POST is never resent); nothing kept", async () => {
    const { org, pooled, response } = await createWith("timeout");
    await expectFailure(response, 502, "vapi_unavailable");
    expect(suite.logs().events("upstream_failed")).toEqual([
      expect.objectContaining({ service: "vapi", method: "POST", failure: "timeout", attempts: 1 }),
    ]);
    await expectNothingKept(org, pooled);
  });

  it("timeout after Vapi made the assistant → 502; compensation finds it by metadata and deletes it", async () => {
    const { org, pooled, response } = await createWith("timeout_after_processing");
    await expectFailure(response, 502, "vapi_unavailable");
    expect(suite.logs().events("assistant_creation_abandoned")).toEqual([
      expect.objectContaining({ org_id: org, vapi_assistants_deleted: 1 }),
    ]);
    await expectNothingKept(org, pooled);
  });

  it("malformed JSON from Vapi → 502 vapi_error; nothing kept", async () => {
    const { org, pooled, response } = await createWith("malformed");
    await expectFailure(response, 502, "vapi_error");
    expect(suite.logs().events("assistant_creation_abandoned")).toHaveLength(1);
    await expectNothingKept(org, pooled);
  });

  it("a malformed (unparseable) upstream answer is logged with its service, path and the parse problem", async () => {
    await createWith("malformed");
    const named = suite
      .logs()
      .lines.filter(
        (l) =>
          l.service === "vapi" &&
          String(l.path ?? "").startsWith("/assistant") &&
          /unexpected response/.test(String(l.message ?? l.error ?? "")),
      );
    expect(named.length).toBeGreaterThan(0);
  });

  it("timeout after processing, and the compensation's lookup fails too → 502; the sweep (not before 10 minutes) removes the `creating` row and its Vapi assistant", async () => {
    const pooled = await seedNumber();
    const org = newOrg();
    await inject(faultFor(target, "timeout_after_processing", RETRIED_POST));
    // The compensation lists Vapi assistants to find what the lost create made: that fails as well.
    await inject({ service: "vapi", method: "GET", pathPrefix: "/assistant", count: 3, kind: "status", status: 500 });
    const response = await createAs(org);
    await expectFailure(response, 502, "vapi_unavailable");
    await sandbox().clearFaults();
    expect(suite.logs().events("assistant_compensation_failed")).toHaveLength(1);
    const [row] = await assistantRowsOf(org);
    expect(row!.state).toBe("creating");
    expect(await vapiAssistantIds()).toHaveLength(1);

    // Inside the 10-minute window the row is left alone (it may still be running).
    await sweep(5);
    expect((await assistantRowsOf(org)).map((r) => r.state)).toEqual(["creating"]);
    await sweep(11);
    expect(suite.logs().events("interrupted_creation_repaired")).toEqual([
      expect.objectContaining({ assistant_id: row!.id, vapi_assistants_deleted: 1 }),
    ]);
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    // The pool number it had claimed is NOT given back: see the BUG todos at the end of this file.
    void pooled;
  });
});

describe("fault on DELETE /assistant/:id (delete assistant)", () => {
  const target: FaultTarget = { service: "vapi", method: "DELETE", pathPrefix: "/assistant/" };

  /** An assistant on a pool number, then a DELETE under the fault. */
  async function deleteWith(kind: FaultKind, count?: number) {
    const pooled = await seedNumber();
    const org = newOrg();
    const assistant = await created(org);
    await sandbox().clearRequests();
    const fault = faultFor(target, kind);
    await inject(count === undefined ? fault : { ...fault, count });
    const response = await call("DELETE", `/api/assistants/${assistant.id}`, { token: await token({ org }) });
    await sandbox().clearFaults();
    return { org, pooled, assistant, response };
  }

  /** Nothing changed: the assistant is still listed with its number, and exists in Vapi. */
  async function expectUntouched(org: string, assistant: Record<string, any>) {
    const listed = await json(await call("GET", "/api/assistants", { token: await token({ org }) }));
    expect(listed.assistants.map((a: any) => [a.id, a.phone_number_id])).toEqual([[assistant.id, assistant.phone_number_id]]);
    expect(await vapiAssistantIds()).toEqual([assistant.vapi_assistant_id]);
  }

  async function expectDeleted(org: string, assistant: Record<string, any>, pooled: { id: string }) {
    expect((await assistantRowsOf(org)).map((r) => r.state)).toEqual(["deleted"]);
    expect((await numberRows()).map((n) => [n.id, n.assistant_id])).toEqual([[pooled.id, null]]);
    expect(await call("GET", `/api/assistants/${assistant.id}`, { token: await token({ org }) }).then((r) => r.status)).toBe(404);
  }

  /** The user tries again once Vapi is back: it goes through, and the number returns to the pool. */
  async function retrySucceeds(org: string, assistant: Record<string, any>, pooled: { id: string }) {
    const again = await call("DELETE", `/api/assistants/${assistant.id}`, { token: await token({ org }) });
    expect(again.status).toBe(204);
    await expectDeleted(org, assistant, pooled);
  }

  it("500 on every attempt → 502 vapi_error; nothing changed; the invariants hold; a retry deletes", async () => {
    const { org, pooled, assistant, response } = await deleteWith("500");
    await expectFailure(response, 502, "vapi_error");
    expect(suite.logs().events("upstream_error")).toEqual([
      expect.objectContaining({ service: "vapi", method: "DELETE", status: 500, attempts: 3 }),
    ]);
    await expectUntouched(org, assistant);
    await sweep(11);
    await expectInvariants();
    await retrySucceeds(org, assistant, pooled);
    await settleAndCheck();
  });

  it("429 with Retry-After: 0 → retried → 204", async () => {
    const { org, pooled, assistant, response } = await deleteWith("429_retry_after_0");
    expect(response.status).toBe(204);
    await expectDeleted(org, assistant, pooled);
    expect(await vapiAssistantIds()).toEqual([]);
    await settleAndCheck();
  });

  it("429 with Retry-After: 120 → 503 vapi_rate_limited with Retry-After 120; nothing changed", async () => {
    const { org, pooled, assistant, response } = await deleteWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "vapi_rate_limited");
    await expectUntouched(org, assistant);
    await sweep(11);
    await expectInvariants();
    await retrySucceeds(org, assistant, pooled);
    await settleAndCheck();
  });

  it("timeout on every attempt (Vapi never got it) → 502 vapi_unavailable; nothing changed", async () => {
    const { org, pooled, assistant, response } = await deleteWith("timeout");
    await expectFailure(response, 502, "vapi_unavailable");
    expect(suite.logs().events("upstream_failed")).toEqual([
      expect.objectContaining({ service: "vapi", method: "DELETE", failure: "timeout", attempts: 3 }),
    ]);
    await expectUntouched(org, assistant);
    await sweep(11);
    await expectInvariants();
    await retrySucceeds(org, assistant, pooled);
    await settleAndCheck();
  });

  it("timeout after Vapi deleted it, once → the retry's 404 counts as deleted → 204", async () => {
    const { org, pooled, assistant, response } = await deleteWith("timeout_after_processing", 1);
    expect(response.status).toBe(204);
    await expectDeleted(org, assistant, pooled);
    const deletes = (await sandbox().requests("vapi")).filter((r) => r.method === "DELETE");
    expect(deletes.map((d) => d.status)).toEqual([200, 404]);
    await settleAndCheck();
  });

  it("timeout after Vapi deleted it, on every attempt → 502 vapi_unavailable in the one shape; the user's retry finishes the delete", async () => {
    const { org, pooled, assistant, response } = await deleteWith("timeout_after_processing");
    // Vapi did delete it, whatever the caller heard.
    expect(await vapiAssistantIds()).toEqual([]);
    if (response.status !== 204) {
      await expectFailure(response, 502, "vapi_unavailable");
      await retrySucceeds(org, assistant, pooled);
    }
    await expectDeleted(org, assistant, pooled);
    await settleAndCheck();
  });

  it("DELETE timed out on every attempt after Vapi deleted it → a GET finds it gone → 204, deleted and its number back in the pool", async () => {
    const { org, pooled, assistant, response } = await deleteWith("timeout_after_processing");
    expect(response.status).toBe(204);
    await expectDeleted(org, assistant, pooled);
    await sweep(11);
    await daily();
    await expectInvariants({ reconciled: true });
  });

  it("malformed JSON answering the DELETE → 204 (the body is not read); Vapi kept it, the daily reconcile deletes the stray", async () => {
    const { org, pooled, assistant, response } = await deleteWith("malformed");
    expect(response.status).toBe(204);
    await expectDeleted(org, assistant, pooled);
    // The sandbox's malformed answer never acted: the Vapi assistant is still there, with no active row.
    expect(await vapiAssistantIds()).toEqual([assistant.vapi_assistant_id]);
    await sweep(11);
    await expectInvariants();
    await daily();
    expect(suite.logs().events("stray_assistant_deleted")).toEqual([
      expect.objectContaining({ vapi_assistant_id: assistant.vapi_assistant_id, reason: "no_active_assistant" }),
    ]);
    await expectInvariants({ reconciled: true });
  });

  it("the number's detach (PATCH /phone-number) fails on every attempt → still 204, logged; the daily reconcile detaches it in Vapi", async () => {
    const pooled = await seedNumber();
    const org = newOrg();
    const assistant = await created(org);
    await inject({ service: "vapi", method: "PATCH", pathPrefix: "/phone-number/", count: 3, kind: "status", status: 500 });
    const response = await call("DELETE", `/api/assistants/${assistant.id}`, { token: await token({ org }) });
    await sandbox().clearFaults();
    expect(response.status).toBe(204);
    expect(suite.logs().events("number_detach_failed")).toHaveLength(1);
    await expectDeleted(org, assistant, pooled);
    // Vapi still routes the number to the deleted assistant until the reconcile.
    expect((await sandbox().vapiPhoneNumbers())[0]!.assistantId).toBe(assistant.vapi_assistant_id);
    await sweep(11);
    await expectInvariants();
    await daily();
    expect(suite.logs().events("vapi_number_assistant_repaired")).toEqual([
      expect.objectContaining({ phone_number_id: pooled.id, from: assistant.vapi_assistant_id, to: null }),
    ]);
    await expectInvariants({ reconciled: true });
  });
});

describe("the repair of an interrupted creation gives its number back", () => {
  /** A create whose Vapi call timed out after acting and whose compensation failed: a `creating` row is left. */
  async function interruptedCreation(org: string) {
    await inject({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "timeout", afterProcessing: true });
    await inject({ service: "vapi", method: "GET", pathPrefix: "/assistant", count: 3, kind: "status", status: 500 });
    await expectFailure(await createAs(org), 502, "vapi_unavailable");
    await sandbox().clearFaults();
    const [row] = await assistantRowsOf(org);
    expect(row!.state).toBe("creating");
    return String(row!.id);
  }

  it("repairInterruptedCreations gives the claimed pool number back when it removes the `creating` row", async () => {
    const pooled = await seedNumber();
    await interruptedCreation(newOrg());
    await sweep(11);
    expect((await numberRows()).find((n) => n.id === pooled.id)!.assistant_id).toBeNull();
    await daily();
    await expectInvariants({ reconciled: true });
    expect((await created(newOrg())).phone_number_id).toBe(pooled.id);
  });

  it("repairInterruptedCreations drops the free-number reservation that never got its Vapi number", async () => {
    await interruptedCreation(newOrg());
    await sweep(11);
    await daily();
    expect(await numberRows()).toEqual([]);
    await expectInvariants({ reconciled: true });
  });
});
