import {
  createExecutionContext,
  createScheduledController,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../src/index";
import type { ProvisioningTracker } from "../../../src/features/provisioning/tracker";
import { beforeEach, describe, expect, it } from "vitest";
import { call, json, sandbox, token } from "../../helpers/api";
import { eventsOf, resetState } from "../../helpers/pool";
import { createProvisioning, numberRow, tracker, trackerAlarm, webhook } from "../../helpers/provisioning";

beforeEach(resetState);

const ACTIVATION_DELAY = 30;

describe("the provisioning tracker", () => {
  it("starts with the number, one per assistant, and finds it active on the 3rd check", async () => {
    const p = await createProvisioning();
    expect(p.trackerKey).toBe(p.assistant.id);
    expect(await trackerAlarm(p.trackerKey)).not.toBeNull();

    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    let view = await json(await call("GET", `/api/assistants/${p.assistant.id}/phone`));
    expect(view).toMatchObject({ phone_status: "provisioning", vapi_phone_number: null, provisioning: { attempts: 1, max_attempts: 40 } });
    expect(view.provisioning.next_check_at).not.toBeNull();

    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await sandbox().advanceClock(ACTIVATION_DELAY);
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);

    view = await json(await call("GET", `/api/assistants/${p.assistant.id}/phone`));
    expect(view.phone_status).toBe("active");
    expect(view.vapi_phone_number).toMatch(/^\+1415\d{7}$/);
    expect(view.provisioning).toBeNull();
    const listed = await json(await call("GET", "/api/assistants"));
    expect(listed.assistants[0].vapi_phone_number).toBe(view.vapi_phone_number);
    expect((await eventsOf(p.numberId)).map((e) => e.event)).toEqual(["created", "assigned", "provisioned"]);
    // Done: no further checks.
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    const gets = (await sandbox().requests("vapi")).filter((r) => r.method === "GET" && r.path.startsWith("/phone-number/"));
    expect(gets).toHaveLength(3);
  });

  it("marks the number stuck after exactly 40 checks, with an alert, and stops", async () => {
    const p = await createProvisioning();
    for (let i = 1; i <= 39; i++) expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await numberRow(p.numberId))!.status).toBe("provisioning");
    expect((await numberRow(p.numberId))!.provisioning_attempts).toBe(39);
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    const row = await numberRow(p.numberId);
    expect(row).toMatchObject({ status: "stuck", provisioning_attempts: 40 });
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(false);
    const alert = await env.DB.prepare("SELECT kind, status, message FROM alerts WHERE subject = ?").bind(p.numberId).first<any>();
    expect(alert).toMatchObject({ kind: "provisioning_stuck", status: "open" });
    expect(alert.message).toContain(`/api/admin/phone-numbers/${p.numberId}/refresh`);
    const view = await json(await call("GET", `/api/assistants/${p.assistant.id}`));
    expect(view.phone_status).toBe("stuck");
  });

  it("ends at once as failed when Vapi blocks the number", async () => {
    const p = await createProvisioning();
    await sandbox().setVapiPhoneNumberStatus(p.vapiId, "blocked");
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await numberRow(p.numberId))!.status).toBe("failed");
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    const alert = await env.DB.prepare("SELECT kind FROM alerts WHERE subject = ?").bind(p.numberId).first<any>();
    expect(alert.kind).toBe("provisioning_failed");
  });

  it("counts Vapi errors as attempts and keeps going: 500 on checks 1–5, then active", async () => {
    const p = await createProvisioning();
    // Each check tries 3 times (2 retries) before it counts as failed.
    await sandbox().injectFault({ service: "vapi", method: "GET", pathPrefix: "/phone-number/", count: 15, kind: "status", status: 500 });
    for (let i = 1; i <= 5; i++) expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await numberRow(p.numberId))!).toMatchObject({ status: "provisioning", provisioning_attempts: 5 });
    const state = await tracker(p.trackerKey).state();
    expect(state?.lastError).toContain("Injected fault");
    await sandbox().advanceClock(ACTIVATION_DELAY);
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await numberRow(p.numberId))!.status).toBe("active");
  });

  it("resumes from storage after eviction between checks", async () => {
    const p = await createProvisioning();
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    await evictDurableObject(tracker(p.trackerKey));
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await tracker(p.trackerKey).state())?.attempts).toBe(2);
    expect((await numberRow(p.numberId))!.provisioning_attempts).toBe(2);
  });

  it("ignores a duplicate start for the same number", async () => {
    const p = await createProvisioning();
    const first = await tracker(p.trackerKey).state();
    const again = await tracker(p.trackerKey).start({ numberId: p.numberId, vapiPhoneNumberId: p.vapiId, assistantId: p.assistant.id });
    expect(again.rearmed).toBe(false);
    expect(again.state.startedAt).toBe(first!.startedAt);
    expect(again.state.attempts).toBe(0);
  });

  it("re-arms its alarm when a check throws, fired as the platform fires alarms (the pending alarm deleted first)", async () => {
    const p = await createProvisioning();
    const stub = env.PROVISIONING_TRACKER.getByName(p.trackerKey);
    // Storage trouble inside a check (D1 unavailable) makes the alarm throw, for the platform's retry.
    await runInDurableObject<ProvisioningTracker, void>(stub, (tracked) => {
      (tracked as any).check = async () => {
        throw new Error("D1_ERROR: injected");
      };
    });
    await expect(runDurableObjectAlarm(stub)).rejects.toThrow("injected");
    expect(await trackerAlarm(p.trackerKey)).not.toBeNull();
    expect((await tracker(p.trackerKey).state())?.status).toBe("tracking");

    // The next alarm checks again.
    await runInDurableObject<ProvisioningTracker, void>(stub, (tracked) => void delete (tracked as any).check);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await tracker(p.trackerKey).state())?.attempts).toBe(1);
  });
});

describe("POST /webhooks/vapi", () => {
  const HOUR = 60 * 60_000;
  const callOn = (vapiId: string, type = "status-update", number = "+14155550199", timestamp = Date.now() - HOUR) => ({
    type,
    timestamp,
    status: "in-progress",
    call: { id: "call-1", phoneNumberId: vapiId, type: "inboundPhoneCall" },
    phoneNumber: { number },
  });

  it("a call on a provisioning number proves it live: active with its digits, tracker stopped", async () => {
    const p = await createProvisioning();
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    const at = Date.now() - HOUR;
    const res = await webhook(callOn(p.vapiId, "status-update", "+14155550199", at));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({});
    const row = await numberRow(p.numberId);
    expect(row).toMatchObject({ status: "active", number: "+14155550199", last_call_at: new Date(at).toISOString() });
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(false);
    expect((await tracker(p.trackerKey).state())?.status).toBe("active");

    // A replay changes nothing twice.
    expect((await webhook(callOn(p.vapiId))).status).toBe(200);
    expect((await eventsOf(p.numberId)).filter((e) => e.event === "provisioned")).toHaveLength(1);
    expect((await numberRow(p.numberId))!.updated_at).toBe(row!.updated_at);
  });

  it("end-of-call-report dates the number's last call, never backwards", async () => {
    const p = await createProvisioning();
    const later = Date.now() - HOUR;
    await webhook(callOn(p.vapiId, "end-of-call-report", "+14155550199", later));
    await webhook(callOn(p.vapiId, "status-update", "+14155550199", later - 2 * HOUR));
    expect((await numberRow(p.numberId))!.last_call_at).toBe(new Date(later).toISOString());
  });

  it("refuses a wrong or missing secret with 401 and processes nothing", async () => {
    const p = await createProvisioning();
    for (const secret of ["wrong-secret-wrong-secret", ""]) {
      const res = await webhook(callOn(p.vapiId), secret);
      expect(res.status).toBe(401);
      expect((await json(res)).error.code).toBe("invalid_webhook_secret");
    }
    expect((await numberRow(p.numberId))!.status).toBe("provisioning");
  });

  it("answers a malformed body with 400 and an unknown type with 200 and no side effect", async () => {
    const p = await createProvisioning();
    const malformed = await call("POST", "/webhooks/vapi", {
      token: null,
      headers: { "X-Vapi-Secret": env.VAPI_WEBHOOK_SECRET as string },
      rawBody: "{not json",
    });
    expect(malformed.status).toBe(400);
    const noType = await webhook({ call: { phoneNumberId: p.vapiId } } as any);
    expect(noType.status).toBe(400);
    const before = await numberRow(p.numberId);
    const unknown = await webhook({ type: "speech-update", status: "started", role: "user" });
    expect(unknown.status).toBe(200);
    expect(await numberRow(p.numberId)).toEqual(before);
  });
});

describe("the cron sweep", () => {
  const sweep = async (at = Date.now()) => {
    const controller = createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
  };

  it("re-arms a tracker whose alarm was lost", async () => {
    const p = await createProvisioning();
    await runInDurableObject(tracker(p.trackerKey), (_i, state) => state.storage.deleteAlarm());
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    await sweep();
    expect(await trackerAlarm(p.trackerKey)).not.toBeNull();
    expect(await runDurableObjectAlarm(tracker(p.trackerKey))).toBe(true);
    expect((await tracker(p.trackerKey).state())?.attempts).toBe(1);
  });

  it("marks a number past its deadline stuck with an alert, so nothing waits forever", async () => {
    const p = await createProvisioning();
    await sweep(Date.now() + 11 * 60_000);
    expect((await numberRow(p.numberId))!.status).toBe("stuck");
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    const alert = await env.DB.prepare("SELECT kind FROM alerts WHERE subject = ?").bind(p.numberId).first<any>();
    expect(alert.kind).toBe("provisioning_stuck");
  });
});

describe("POST /api/admin/phone-numbers/:id/refresh", () => {
  it("checks Vapi now and applies the result; only platform admins may", async () => {
    const p = await createProvisioning();
    const admin = await token({ org: null, role: "platform_admin" });
    const pending = await json(await call("POST", `/api/admin/phone-numbers/${p.numberId}/refresh`, { token: admin }));
    expect(pending.outcome).toBe("pending");
    await sandbox().advanceClock(ACTIVATION_DELAY);
    const res = await call("POST", `/api/admin/phone-numbers/${p.numberId}/refresh`, { token: admin });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body.outcome).toBe("active");
    expect(body.phone_number).toMatchObject({ id: p.numberId, status: "active" });
    expect(body.phone_number.number).toMatch(/^\+1415/);
    expect(await trackerAlarm(p.trackerKey)).toBeNull();

    const member = await call("POST", `/api/admin/phone-numbers/${p.numberId}/refresh`, { token: await token({ role: "owner" }) });
    expect(member.status).toBe(403);
    expect((await call("POST", `/api/admin/phone-numbers/nope/refresh`, { token: admin })).status).toBe(404);
  });
});

describe("GET /api/assistants/:id/phone/events", () => {
  it("streams progress until the number is active, then closes", async () => {
    const p = await createProvisioning();
    const res = await call("GET", `/api/assistants/${p.assistant.id}/phone/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readEvent = async () => {
      while (!text.includes("\n\n")) {
        const chunk = await reader.read();
        if (chunk.done) return null;
        text += decoder.decode(chunk.value);
      }
      const [event, rest] = [text.slice(0, text.indexOf("\n\n")), text.slice(text.indexOf("\n\n") + 2)];
      text = rest;
      return JSON.parse(
        event
          .split("\n")
          .find((l) => l.startsWith("data:"))!
          .slice(5),
      );
    };
    expect(await readEvent()).toMatchObject({ phone_status: "provisioning", assistant_id: p.assistant.id });
    await webhook({
      type: "status-update",
      status: "in-progress",
      call: { phoneNumberId: p.vapiId },
      phoneNumber: { number: "+14155550123" },
    });
    expect(await readEvent()).toMatchObject({ phone_status: "active", vapi_phone_number: "+14155550123" });
    expect((await reader.read()).done).toBe(true);
  });
});
