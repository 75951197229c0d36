import { outsideFreeNumbersOf, readVapiAccount } from "../../src/features/numbers/account";
import { env } from "cloudflare:workers";
import { sandbox } from "./api";
import type { Db } from "../../src/db/client";
import {
  poolStatsQuery,
  toPoolStats,
  toUnassignedNumber,
  unassignedQuery,
  type PoolStats,
  type UnassignedNumber,
} from "../../src/features/numbers/pool";

const TABLES = ["assistants", "phone_numbers", "phone_number_events", "alerts", "idempotency_keys", "vapi_account"];

/** An empty record and an empty simulated Vapi account. */
export async function resetState(): Promise<void> {
  await env.DB.batch(TABLES.map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
  await sandbox().reset();
}

export interface SeedOptions {
  orgId?: string | null;
  areaCode?: string;
  /** When it became unassigned; older numbers are reused first. */
  unassignedAt?: string;
  assistantId?: string | null;
  source?: "vapi_free" | "twilio_imported";
}

/** An active number that exists both in the simulated Vapi account and in the pool. */
export async function seedNumber(options: SeedOptions = {}): Promise<{ id: string; vapiId: string; number: string }> {
  const areaCode = options.areaCode ?? "415";
  const vapi = await sandbox().seedVapiPhoneNumber({ areaCode });
  const id = crypto.randomUUID();
  const at = options.unassignedAt ?? new Date().toISOString();
  const source = options.source ?? "vapi_free";
  await env.DB.prepare(
    `INSERT INTO phone_numbers (id, provider, source, vapi_phone_number_id, number, area_code, status, org_id, assistant_id, unassigned_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      source === "vapi_free" ? "vapi" : "twilio",
      source,
      vapi.id,
      vapi.number,
      areaCode,
      options.orgId ?? null,
      options.assistantId ?? null,
      options.assistantId ? null : at,
      at,
      at,
    )
    .run();
  return { id, vapiId: vapi.id, number: vapi.number };
}

export async function seedNumbers(count: number, options: SeedOptions = {}) {
  const seeded = [];
  for (let i = 0; i < count; i++) seeded.push(await seedNumber(options));
  return seeded;
}

export interface NumberRow {
  id: string;
  status: string;
  assistant_id: string | null;
  org_id: string | null;
  number: string | null;
  vapi_phone_number_id: string | null;
  source: string;
  unassigned_at: string | null;
}

export async function numberRows(): Promise<NumberRow[]> {
  return (await env.DB.prepare("SELECT * FROM phone_numbers ORDER BY created_at").all<NumberRow>()).results;
}

export async function eventsOf(numberId: string): Promise<{ event: string; assistant_id: string | null; org_id: string | null }[]> {
  return (
    await env.DB.prepare("SELECT event, assistant_id, org_id FROM phone_number_events WHERE phone_number_id = ? ORDER BY id")
      .bind(numberId)
      .all<any>()
  ).results;
}

/**
 * The pool's invariants: no number on two assistants, no assistant with two numbers, every assigned number's
 * assistant exists and is active, the free numbers stay within the limit.
 */
export async function checkPoolInvariants(limit = 10): Promise<void> {
  const doubleNumbers = await env.DB.prepare(
    "SELECT assistant_id, count(*) AS n FROM phone_numbers WHERE assistant_id IS NOT NULL GROUP BY assistant_id HAVING n > 1",
  ).all();
  if (doubleNumbers.results.length > 0) throw new Error(`assistant with two numbers: ${JSON.stringify(doubleNumbers.results)}`);
  const dangling = await env.DB.prepare(
    "SELECT p.id FROM phone_numbers p LEFT JOIN assistants a ON a.id = p.assistant_id WHERE p.assistant_id IS NOT NULL AND (a.id IS NULL OR a.state != 'active')",
  ).all();
  if (dangling.results.length > 0)
    throw new Error(`numbers assigned to missing or deleted assistants: ${JSON.stringify(dangling.results)}`);
  const free = await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers WHERE source = 'vapi_free' AND status != 'released'").first<{
    n: number;
  }>();
  if ((free?.n ?? 0) > limit) throw new Error(`${free?.n} free numbers over the limit of ${limit}`);
  const creating = await env.DB.prepare("SELECT count(*) AS n FROM assistants WHERE state = 'creating'").first<{ n: number }>();
  if ((creating?.n ?? 0) > 0) throw new Error(`${creating?.n} assistants left half-made`);
}

/** The pool at a glance, as the admin overview computes it (one D1 round trip). */
export async function getPoolStats(db: Db, freeNumberLimit: number): Promise<PoolStats> {
  const [rows, account] = await db.batch([poolStatsQuery(db), readVapiAccount(db)]);
  return toPoolStats(rows, freeNumberLimit, outsideFreeNumbersOf(account));
}

/** Active numbers waiting for an assistant, the longest-waiting first, as the admin overview lists them. */
export async function listUnassigned(db: Db): Promise<UnassignedNumber[]> {
  return (await unassignedQuery(db)).map(toUnassignedNumber);
}
