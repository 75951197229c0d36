import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import worker from "../../../src/index";
import type { Logger } from "../../../src/platform/log";
import { loadSettings } from "../../../src/platform/settings";
import { createUpstreams } from "../../../src/integrations/index";
import { sampleBusiness, sandbox } from "../../helpers/api";
import { asOrg, assistantRow, assistantRowsOf, expectError, newOrg } from "../../helpers/assertions";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const vapi = () => createUpstreams(env, loadSettings(env), silent).vapi;

const MINUTE = 60_000;

/** The worker's cron handler, called as the runtime calls it (with an execution context). */
const scheduled = worker.scheduled as ExportedHandlerScheduledHandler<Env>;

/** Runs the 5-minute cron as Cloudflare would, `minutesLater` minutes from now. */
async function runSweep(minutesLater: number) {
  const controller = createScheduledController({ scheduledTime: Date.now() + minutesLater * MINUTE, cron: "*/5 * * * *" });
  const ctx = createExecutionContext();
  await scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A row as an interrupted create leaves it: `creating`, no Vapi id yet. */
async function insertCreatingRow(org: string, createdAt = new Date().toISOString()) {
  const id = crypto.randomUUID();
  await env.DB.prepare(
    `INSERT INTO assistants (id, org_id, name, name_is_custom, business_data, languages, state, created_at, updated_at)
     VALUES (?, ?, ?, 0, ?, '["en"]', 'creating', ?, ?)`,
  )
    .bind(id, org, sampleBusiness.business_name, JSON.stringify(sampleBusiness), createdAt, createdAt)
    .run();
  return id;
}

const vapiIds = async () => (await sandbox().vapiAssistants()).map((a) => String(a.id));

describe("cron: repair of interrupted creations", () => {
  afterEach(async () => {
    await sandbox().clearFaults();
  });

  it("removes a stale 'creating' row and the Vapi assistant made for it", async () => {
    const org = newOrg();
    const rowId = await insertCreatingRow(org);
    // The Vapi assistant the interrupted request had made, tagged with the row's id.
    const made = await vapi().createAssistant({ name: "Orphan", metadata: { switchboardAssistantId: rowId, switchboardOrgId: org } });
    const unrelated = await vapi().createAssistant({ name: "Someone else's", metadata: { switchboardAssistantId: crypto.randomUUID() } });
    expect(await vapiIds()).toContain(made.id);

    await runSweep(11);

    expect(await assistantRow(rowId)).toBeNull();
    const remaining = await vapiIds();
    expect(remaining).not.toContain(made.id);
    expect(remaining).toContain(unrelated.id);
  });

  it("removes a stale row whose Vapi id is known, and tolerates that assistant being gone already", async () => {
    const org = newOrg();
    const rowId = await insertCreatingRow(org);
    const made = await vapi().createAssistant({ name: "Known", metadata: { switchboardAssistantId: rowId } });
    await env.DB.prepare("UPDATE assistants SET vapi_assistant_id = ? WHERE id = ?").bind(made.id, rowId).run();
    await vapi().deleteAssistant(made.id);

    await runSweep(11);
    expect(await assistantRow(rowId)).toBeNull();
  });

  it("leaves a creation younger than 10 minutes alone (it may still be running)", async () => {
    const org = newOrg();
    const rowId = await insertCreatingRow(org);
    const made = await vapi().createAssistant({ name: "In flight", metadata: { switchboardAssistantId: rowId } });

    await runSweep(5);

    expect((await assistantRow(rowId))?.state).toBe("creating");
    expect(await vapiIds()).toContain(made.id);
  });

  it("never touches active or deleted assistants", async () => {
    const org = newOrg();
    const created = await asOrg(org)("POST", "/api/assistants", { body: { business_data: sampleBusiness } });
    const active = (await created.json()) as { id: string; vapi_assistant_id: string };
    const gone = (await (await asOrg(org)("POST", "/api/assistants", { body: { business_data: sampleBusiness } })).json()) as {
      id: string;
    };
    expect((await asOrg(org)("DELETE", `/api/assistants/${gone.id}`)).status).toBe(204);
    const rowsBefore = await assistantRowsOf(org);

    await runSweep(60 * 24);

    expect(await assistantRowsOf(org)).toEqual(rowsBefore);
    expect((await assistantRow(active.id))?.state).toBe("active");
    expect((await assistantRow(gone.id))?.state).toBe("deleted");
    expect(await vapiIds()).toContain(active.vapi_assistant_id);
  });

  it("finishes a create whose compensation failed: Vapi timed out after creating, then the lookup failed too", async () => {
    const org = newOrg();
    const stub = sandbox();
    const before = await vapiIds();
    // Vapi creates the assistant but never answers …
    await stub.injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "timeout", afterProcessing: true });
    // … and the compensation cannot list assistants to find it (3 attempts).
    await stub.injectFault({ service: "vapi", method: "GET", pathPrefix: "/assistant", count: 3, kind: "status", status: 503 });

    await expectError(await asOrg(org)("POST", "/api/assistants", { body: { business_data: sampleBusiness } }), 502, "vapi_unavailable");

    // What the failed compensation left: a `creating` row and an orphan in Vapi.
    const rows = await assistantRowsOf(org);
    expect(rows.map((r) => r.state)).toEqual(["creating"]);
    const orphans = (await vapiIds()).filter((id) => !before.includes(id));
    expect(orphans).toHaveLength(1);
    // The caller was never told it exists, and it is not listed.
    expect((await (await asOrg(org)("GET", "/api/assistants")).json()) as unknown).toEqual({ assistants: [], next_cursor: null });

    await runSweep(11);

    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiIds()).not.toContain(orphans[0]);
  });

  it("finds the row's Vapi assistant among every one made around its creation, however many were made since", async () => {
    const org = newOrg();
    const createdMs = Date.now() - 30 * MINUTE;
    const rowId = await insertCreatingRow(org, new Date(createdMs).toISOString());
    const [made] = await sandbox().seedVapiAssistants([
      { metadata: { switchboardAssistantId: rowId }, createdAt: new Date(createdMs + 2_000).toISOString() },
    ]);
    // More than a page of other assistants made since (a busy account).
    const later = new Date(Date.now() - 5 * MINUTE).toISOString();
    await sandbox().seedVapiAssistants(Array.from({ length: 1001 }, () => ({ createdAt: later })));

    await runSweep(11);

    expect(await assistantRow(rowId)).toBeNull();
    expect(await vapiIds()).not.toContain(made!.id);
  });

  it("keeps the row for the next run when the assistants made around its creation cannot all be listed", async () => {
    const org = newOrg();
    const createdMs = Date.now() - 30 * MINUTE;
    const rowId = await insertCreatingRow(org, new Date(createdMs).toISOString());
    // A full page and more in one millisecond, the row's own among them: no listing can prove it saw them all.
    const at = new Date(createdMs + 2_000).toISOString();
    await sandbox().seedVapiAssistants([
      { metadata: { switchboardAssistantId: rowId }, createdAt: at },
      ...Array.from({ length: 1000 }, () => ({ createdAt: at })),
    ]);

    await runSweep(11);

    expect((await assistantRow(rowId))?.state).toBe("creating");
    // Not left for the other tests' sweeps.
    await env.DB.prepare("DELETE FROM assistants WHERE id = ?").bind(rowId).run();
  });

  it("a Vapi outage during the sweep keeps the row for the next run", async () => {
    const org = newOrg();
    const rowId = await insertCreatingRow(org);
    const made = await vapi().createAssistant({ name: "Later", metadata: { switchboardAssistantId: rowId } });
    await sandbox().injectFault({ service: "vapi", method: "GET", pathPrefix: "/assistant", count: 3, kind: "status", status: 500 });

    await runSweep(11);
    expect((await assistantRow(rowId))?.state).toBe("creating");

    await runSweep(16);
    expect(await assistantRow(rowId)).toBeNull();
    expect(await vapiIds()).not.toContain(made.id);
  });
});

describe("cron: daily pruning of idempotency keys", () => {
  it("forgets keys older than a day, keeps newer ones", async () => {
    const old = `org-prune:assistants.create:${crypto.randomUUID()}`;
    const fresh = `org-prune:assistants.create:${crypto.randomUUID()}`;
    const insert = env.DB.prepare(
      "INSERT INTO idempotency_keys (key, request_hash, state, response_status, response_body, created_at) VALUES (?, 'h', 'done', 201, '{}', ?)",
    );
    await env.DB.batch([
      insert.bind(old, new Date(Date.now() - 25 * 60 * MINUTE).toISOString()),
      insert.bind(fresh, new Date().toISOString()),
    ]);
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" });
    const ctx = createExecutionContext();
    await scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    const { results } = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE key LIKE 'org-prune:%'").all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual([fresh]);
  });
});

describe("cron: repair of interrupted deletions", () => {
  afterEach(async () => {
    await sandbox().clearFaults();
  });

  /** An assistant whose DELETE claimed the row (`deleting`) and was cut off before Vapi was told. */
  async function interruptedDeletion(minutesAgo: number) {
    const org = newOrg();
    const body = await (await asOrg(org)("POST", "/api/assistants", { body: { business_data: sampleBusiness } })).json<
      Record<string, any>
    >();
    const at = new Date(Date.now() - minutesAgo * MINUTE).toISOString();
    await env.DB.prepare("UPDATE assistants SET state = 'deleting', updated_at = ? WHERE id = ?").bind(at, body.id).run();
    return { id: body.id as string, vapiId: body.vapi_assistant_id as string, numberId: body.phone_number_id as string };
  }

  it("finishes a stale 'deleting' row: the Vapi assistant deleted, the number back in the pool with one event", async () => {
    const cut = await interruptedDeletion(11);
    await runSweep(0);
    expect((await assistantRow(cut.id))!.state).toBe("deleted");
    expect(await vapiIds()).not.toContain(cut.vapiId);
    const number = await env.DB.prepare("SELECT assistant_id FROM phone_numbers WHERE id = ?")
      .bind(cut.numberId)
      .first<{ assistant_id: string | null }>();
    expect(number!.assistant_id).toBeNull();
    const events = await env.DB.prepare("SELECT event FROM phone_number_events WHERE phone_number_id = ? AND event = 'unassigned'")
      .bind(cut.numberId)
      .all();
    expect(events.results).toHaveLength(1);
  });

  it("leaves a deletion in progress (claimed a minute ago) to its request", async () => {
    const cut = await interruptedDeletion(1);
    await runSweep(0);
    expect((await assistantRow(cut.id))!.state).toBe("deleting");
    expect(await vapiIds()).toContain(cut.vapiId);
  });

  it("a DELETE that Vapi refuses gives its claim back: 502, and the assistant is still there, still deletable", async () => {
    const org = newOrg();
    const as = asOrg(org);
    const created = await (await as("POST", "/api/assistants", { body: { business_data: sampleBusiness } })).json<Record<string, any>>();
    await sandbox().injectFault({ service: "vapi", method: "DELETE", pathPrefix: "/assistant/", count: 3, kind: "status", status: 500 });
    await expectError(await as("DELETE", `/api/assistants/${created.id}`), 502, "vapi_error");
    expect((await assistantRow(created.id))!.state).toBe("active");
    expect((await as("GET", `/api/assistants/${created.id}`)).status).toBe(200);
    await sandbox().clearFaults();
    expect((await as("DELETE", `/api/assistants/${created.id}`)).status).toBe(204);
  });
});
