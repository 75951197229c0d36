import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { reconcileNumbers } from "../../../src/features/numbers/reconcile";
import { removeStrayAssistants } from "../../../src/features/assistants/reconcile";
import type { VapiListFilter } from "../../../src/integrations/vapi";
import { listAllFromVapi } from "../../../src/integrations/vapi-listing";
import { sampleBusiness, sandbox } from "../../helpers/api";
import { asOrg, createAssistantFor, newOrg } from "../../helpers/assertions";
import { resetState, seedNumber, seedNumbers } from "../../helpers/pool";
import { alertRows, eventRows, opsDeps, resetTwilio, runCron } from "../../helpers/operations";

const HOUR = 3_600_000;
/** Reconcile as the daily run would, late enough that nothing seeded by the test counts as "in flight". */
const later = () => Date.now() + 2 * HOUR;

const rowOf = (id: string) => env.DB.prepare("SELECT * FROM phone_numbers WHERE id = ?").bind(id).first<Record<string, any>>();
const vapiNumber = async (id: string) => (await sandbox().vapiPhoneNumbers()).find((n) => n.id === id);

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

describe("reconciling phone numbers with Vapi", () => {
  it("adopts a Vapi number Switchboard made but has no row for, unassigned, with an orphan_adopted alert", async () => {
    const rowId = crypto.randomUUID();
    const orphan = await sandbox().seedVapiPhoneNumber({ name: `sb-${rowId}`, areaCode: "512" });
    const someoneElses = await sandbox().seedVapiPhoneNumber({ name: "Main line" });
    const lookalike = await sandbox().seedVapiPhoneNumber({ name: "sb-front-desk" });

    const report = await reconcileNumbers(await opsDeps(), later());

    expect(report.adopted).toEqual([
      { phone_number_id: rowId, vapi_phone_number_id: orphan.id, number: orphan.number, status: "active", org_id: null },
    ]);
    expect(await rowOf(rowId)).toMatchObject({
      status: "active",
      number: orphan.number,
      area_code: "512",
      provider: "vapi",
      source: "vapi_free",
      assistant_id: null,
      org_id: null,
      vapi_phone_number_id: orphan.id,
    });
    const events = await eventRows(rowId);
    expect(events).toEqual([
      expect.objectContaining({ event: "created", detail: expect.objectContaining({ adopted: true, vapi_phone_number_id: orphan.id }) }),
    ]);
    expect(await alertRows("orphan_adopted")).toEqual([expect.objectContaining({ subject: rowId, status: "open" })]);
    // A number Switchboard did not make is never adopted.
    for (const other of [someoneElses, lookalike]) {
      expect(await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers WHERE vapi_phone_number_id = ?").bind(other.id).first("n")).toBe(
        0,
      );
    }

    // Idempotent: the next run finds the row.
    const again = await reconcileNumbers(await opsDeps(), later());
    expect(again.adopted).toEqual([]);
    expect(await alertRows("orphan_adopted")).toHaveLength(1);
  });

  it("adopts an activating orphan as provisioning, and detaches it from any assistant", async () => {
    const deps = await opsDeps();
    const rowId = crypto.randomUUID();
    const vapiAssistant = await deps.vapi.createAssistant({ name: "Stray" });
    const orphan = await deps.vapi.createPhoneNumber({ provider: "vapi", name: `sb-${rowId}`, assistantId: vapiAssistant.id });

    await reconcileNumbers(deps, later());

    expect(await rowOf(rowId)).toMatchObject({ status: "provisioning", number: null, assistant_id: null, tracker_key: `number:${rowId}` });
    expect((await vapiNumber(orphan.id))!.assistantId).toBeUndefined();
  });

  it("leaves a young orphan alone: its creation may still be recording it", async () => {
    const rowId = crypto.randomUUID();
    const orphan = await sandbox().seedVapiPhoneNumber({ name: `sb-${rowId}` });
    const report = await reconcileNumbers(await opsDeps(), Date.now());
    expect(report.adopted).toEqual([]);
    expect(report.skipped).toEqual([{ vapi_phone_number_id: orphan.id, reason: "recent" }]);
    expect(await rowOf(rowId)).toBeNull();
  });

  it("marks a number that vanished from Vapi released, with history, and frees its assistant", async () => {
    const org = newOrg();
    const [kept, gone] = await seedNumbers(2);
    const assistant = await createAssistantFor(org); // reuses the oldest: `kept`
    const deps = await opsDeps();
    const assignedGone = await seedNumber();
    // The assistant's number moves from `kept` to `assignedGone`.
    await env.DB.batch([
      env.DB.prepare("UPDATE phone_numbers SET assistant_id = NULL WHERE id = ?").bind(kept!.id),
      env.DB.prepare("UPDATE phone_numbers SET assistant_id = ? WHERE id = ?").bind(assistant.id, assignedGone.id),
    ]);
    await deps.vapi.deletePhoneNumber(gone!.vapiId);
    await deps.vapi.deletePhoneNumber(assignedGone.vapiId);

    const report = await reconcileNumbers(deps, later());

    expect(report.vanished.map((v) => v.phone_number_id).sort()).toEqual([gone!.id, assignedGone.id].sort());
    expect(await rowOf(gone!.id)).toMatchObject({ status: "released", assistant_id: null });
    expect((await rowOf(gone!.id))!.released_at).not.toBeNull();
    expect(await rowOf(assignedGone.id)).toMatchObject({ status: "released", assistant_id: null });
    expect(await rowOf(kept!.id)).toMatchObject({ status: "active" });
    const events = await eventRows(assignedGone.id);
    expect(events.at(-1)).toMatchObject({
      event: "released",
      assistant_id: assistant.id,
      detail: expect.objectContaining({ reason: "vanished" }),
    });
    // The assistant shows no number, so it can be given another.
    const view = await (await asOrg(org)("GET", `/api/assistants/${assistant.id}`)).json<Record<string, unknown>>();
    expect(view).toMatchObject({ phone_status: "none", vapi_phone_number: null });
  });

  it("reads fully released rows only when Vapi still lists their numbers: counted as held outside, never adopted again", async () => {
    const [live, released, namedReleased] = await seedNumbers(3);
    const rowId = crypto.randomUUID();
    // Vapi listed these before their deletion finished: one plain, one named for a row released with another Vapi id.
    const duplicate = await sandbox().seedVapiPhoneNumber({ name: `sb-${namedReleased!.id}` });
    await env.DB.batch([
      env.DB.prepare("UPDATE phone_numbers SET status = 'released', released_at = '2026-01-01T00:00:00.000Z' WHERE id IN (?, ?)").bind(
        released!.id,
        namedReleased!.id,
      ),
      // A fully released row nothing in Vapi names: never read.
      env.DB.prepare(
        `INSERT INTO phone_numbers (id, provider, source, vapi_phone_number_id, status, released_at, created_at, updated_at)
         VALUES (?, 'vapi', 'vapi_free', 'gone-long-ago', 'released', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
      ).bind(rowId),
    ]);
    const report = await reconcileNumbers(await opsDeps({ settings: { ADOPT_UNASSIGNED_NUMBERS: true } }), later());

    // `released` and `namedReleased` still in Vapi hold free slots no row counts; the duplicate is deleted.
    expect(report.free_numbers_outside).toBe(2);
    expect(report.made_outside).toEqual([]);
    expect(report.adopted).toEqual([]);
    expect(report.duplicates_deleted).toEqual([{ phone_number_id: namedReleased!.id, vapi_phone_number_id: duplicate.id }]);
    expect(report.vanished).toEqual([]);
    expect(await rowOf(live!.id)).toMatchObject({ status: "active" });
    expect(await rowOf(released!.id)).toMatchObject({ status: "released" });
  });

  it("does not release anything when most numbers are missing at once (the wrong Vapi account, not loss)", async () => {
    const numbers = await seedNumbers(8);
    const deps = await opsDeps();
    for (const n of numbers) await deps.vapi.deletePhoneNumber(n.vapiId);
    const report = await reconcileNumbers(deps, later());
    expect(report.vanished).toEqual([]);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers WHERE status = 'active'").first<{ n: number }>())!.n).toBe(8);
  });

  it("repairs a number whose assistantId differs from D1: to the assistant's Vapi id, or to none", async () => {
    const org = newOrg();
    const [assignedNumber, idleNumber] = await seedNumbers(2);
    const assistant = await createAssistantFor(org);
    expect(assistant.phone_number_id).toBe(assignedNumber!.id);
    const deps = await opsDeps();
    const stray = await deps.vapi.createAssistant({ name: "Someone" });
    // Drift, as a manual change in Vapi's dashboard would make it.
    await deps.vapi.updatePhoneNumber(assignedNumber!.vapiId, { assistantId: null });
    await deps.vapi.updatePhoneNumber(idleNumber!.vapiId, { assistantId: stray.id });

    const report = await reconcileNumbers(deps, later());

    expect(report.assistant_repaired).toEqual(
      expect.arrayContaining([
        { phone_number_id: assignedNumber!.id, vapi_phone_number_id: assignedNumber!.vapiId, from: null, to: assistant.vapi_assistant_id },
        { phone_number_id: idleNumber!.id, vapi_phone_number_id: idleNumber!.vapiId, from: stray.id, to: null },
      ]),
    );
    expect((await vapiNumber(assignedNumber!.vapiId))!.assistantId).toBe(assistant.vapi_assistant_id);
    expect((await vapiNumber(idleNumber!.vapiId))!.assistantId).toBeUndefined();
    expect((await reconcileNumbers(deps, later())).assistant_repaired).toEqual([]);
  });

  it("the daily cron runs it", async () => {
    const rowId = crypto.randomUUID();
    await sandbox().seedVapiPhoneNumber({ name: `sb-${rowId}` });
    await runCron("17 3 * * *", later());
    expect(await rowOf(rowId)).toMatchObject({ status: "active" });
  });
});

describe("paging through Vapi lists", () => {
  /** `offset` ms after a fixed instant in the past: numbers are made "then", several in the same millisecond. */
  const at = (offset: number) => new Date(Date.parse("2026-01-01T00:00:00.000Z") + offset).toISOString();
  const seedAt = (createdAts: string[], name?: (i: number) => string) =>
    sandbox().seedVapiPhoneNumbers(createdAts.map((createdAt, i) => ({ createdAt, ...(name ? { name: name(i) } : {}) })));
  const listPages = async (before: number) => (await sandbox().requests("vapi")).slice(before).map((r) => r.path);

  it("walks every page with limit + createdAtLe", async () => {
    const seeded = [];
    for (let i = 0; i < 5; i++) {
      seeded.push((await sandbox().seedVapiPhoneNumber()).id);
      await sandbox().advanceClock(1);
    }
    const deps = await opsDeps();
    const before = (await sandbox().requests("vapi")).length;
    const listing = await listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter), 2);
    expect(listing.complete).toBe(true);
    expect(listing.items.map((n) => n.id).sort()).toEqual(seeded.sort());
    const pages = await listPages(before);
    // Each page after the first starts again at the oldest millisecond seen: one item is listed twice, none skipped.
    expect(pages).toHaveLength(5);
    expect(pages[0]).toBe("/phone-number?limit=2");
    expect(pages[1]).toMatch(/^\/phone-number\?limit=2&createdAtLe=/);
  });

  it("misses none of the numbers sharing the millisecond of a page boundary, and lists each once", async () => {
    // Pages of 10: six numbers, then eight made in one millisecond (four on the first page, four after it), then three older.
    const newer = await seedAt([6, 5, 4, 3, 2, 1].map((s) => at(s * 1000 + 500)));
    const shared = await seedAt(Array.from({ length: 8 }, () => at(500)));
    const older = await seedAt([at(300), at(200), at(100)]);
    const deps = await opsDeps();
    const listing = await listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter), 10);
    expect(listing.complete).toBe(true);
    expect(listing.items).toHaveLength(17);
    expect(listing.items.map((n) => n.id).sort()).toEqual([...newer, ...shared, ...older].map((n) => n.id).sort());
  });

  it("a full page made in one millisecond cannot be paged past: the listing says it is incomplete", async () => {
    await seedAt(Array.from({ length: 7 }, () => at(500)));
    const deps = await opsDeps();
    const listing = await listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter), 5);
    expect(listing.complete).toBe(false);
  });

  it("a page that fails midway fails the listing: nothing is concluded from part of it", async () => {
    await seedAt([at(3000), at(2000), at(1000)]);
    const deps = await opsDeps();
    let pages = 0;
    const failing = (filter: VapiListFilter) => {
      if (++pages === 2) throw new Error("page 2 failed");
      return deps.vapi.listPhoneNumbers(filter);
    };
    await expect(listAllFromVapi(failing, 2)).rejects.toThrow("page 2 failed");
  });

  it("the daily reconcile of a large account sees every number at a page boundary: all of Switchboard's orphans there are adopted", async () => {
    // 996 numbers of someone else, then eight of Switchboard's made in one millisecond across the 1,000 boundary.
    await seedAt(
      Array.from({ length: 996 }, (_, i) => at(10_000 + (996 - i) * 10)),
      () => "Main line",
    );
    const orphanRows = Array.from({ length: 8 }, () => crypto.randomUUID());
    await seedAt(
      Array.from({ length: 8 }, () => at(5_000)),
      (i) => `sb-${orphanRows[i]}`,
    );
    await seedAt([at(1_000)], () => "Fax");

    const report = await reconcileNumbers(await opsDeps(), later());

    expect(report.vapi_numbers).toBe(1005);
    expect(report.adopted.map((a) => a.phone_number_id).sort()).toEqual([...orphanRows].sort());
  });

  it("releases nothing when the listing is incomplete, even a number Vapi no longer has", async () => {
    const gone = await seedNumber();
    const deps = await opsDeps();
    await deps.vapi.deletePhoneNumber(gone.vapiId);
    // More numbers in one millisecond than a page holds: the listing cannot be proven complete.
    await seedAt(
      Array.from({ length: 1001 }, () => at(5_000)),
      () => "Main line",
    );

    const report = await reconcileNumbers(deps, later());

    expect(report.vanished).toEqual([]);
    expect(await rowOf(gone.id)).toMatchObject({ status: "active" });
  });
});

describe("stray Vapi assistants", () => {
  it("deletes duplicates and assistants of no active row once they are an hour old; leaves the rest", async () => {
    const org = newOrg();
    const deps = await opsDeps();
    const real = await createAssistantFor(org);
    const gone = await createAssistantFor(org);
    expect((await asOrg(org)("DELETE", `/api/assistants/${gone.id}`)).status).toBe(204);
    const duplicate = await deps.vapi.createAssistant({
      name: "Dup",
      metadata: { switchboardAssistantId: real.id, switchboardOrgId: org },
    });
    const ofDeleted = await deps.vapi.createAssistant({ name: "Left", metadata: { switchboardAssistantId: gone.id } });
    const ofNothing = await deps.vapi.createAssistant({ name: "Lost", metadata: { switchboardAssistantId: crypto.randomUUID() } });
    const notOurs = await deps.vapi.createAssistant({ name: "Not ours" });
    const creatingId = crypto.randomUUID();
    const at = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO assistants (id, org_id, name, name_is_custom, business_data, languages, state, created_at, updated_at) VALUES (?, ?, 'x', 0, ?, '[\"en\"]', 'creating', ?, ?)",
    )
      .bind(creatingId, org, JSON.stringify(sampleBusiness), at, at)
      .run();
    const ofCreating = await deps.vapi.createAssistant({ name: "In flight", metadata: { switchboardAssistantId: creatingId } });

    expect((await removeStrayAssistants(deps, Date.now())).deleted).toEqual([]); // all younger than an hour

    const report = await removeStrayAssistants(deps, later());

    expect(report.deleted.map((d) => [d.vapi_assistant_id, d.reason]).sort()).toEqual(
      [
        [duplicate.id, "duplicate"],
        [ofDeleted.id, "no_active_assistant"],
        [ofNothing.id, "no_active_assistant"],
      ].sort(),
    );
    const remaining = (await sandbox().vapiAssistants()).map((a) => a.id);
    expect(remaining).toEqual(expect.arrayContaining([real.vapi_assistant_id, notOurs.id, ofCreating.id]));
    expect(remaining).not.toContain(duplicate.id);
    expect(remaining).not.toContain(ofNothing.id);
  });

  it("deletes no unknown assistants when many appear at once (another deployment's account, not strays)", async () => {
    const org = newOrg();
    const deps = await opsDeps();
    const real = await createAssistantFor(org);
    const foreign = [];
    for (let i = 0; i < 7; i++)
      foreign.push(await deps.vapi.createAssistant({ name: `Foreign ${i}`, metadata: { switchboardAssistantId: crypto.randomUUID() } }));
    const report = await removeStrayAssistants(deps, later());
    expect(report.deleted).toEqual([]);
    const remaining = (await sandbox().vapiAssistants()).map((a) => a.id);
    expect(remaining).toEqual(expect.arrayContaining([real.vapi_assistant_id, ...foreign.map((f) => f.id)]));
  });
});
