import { eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { vapiAccount } from "../../db/schema";

/** The one row of `vapi_account`. */
const ACCOUNT = "vapi";

export type VapiAccountRow = typeof vapiAccount.$inferSelect;

export function readVapiAccount(db: Db) {
  return db.select().from(vapiAccount).where(eq(vapiAccount.id, ACCOUNT));
}

/** The free numbers made outside Switchboard, from `readVapiAccount`'s answer (none before the first count). */
export const outsideFreeNumbersOf = (rows: VapiAccountRow[]) => rows[0]?.outsideFreeNumbers ?? 0;

/** Records how many free Vapi numbers the account holds that no row counts, from a listing made at `countedAt`. */
export function saveOutsideFreeNumbers(db: Db, count: number, countedAt: string, at: string) {
  return db
    .insert(vapiAccount)
    .values({ id: ACCOUNT, outsideFreeNumbers: count, countedAt, updatedAt: at })
    .onConflictDoUpdate({ target: vapiAccount.id, set: { outsideFreeNumbers: count, countedAt, updatedAt: at } });
}

/**
 * Vapi refused a free number for its limit while Switchboard counted room: the account holds numbers made
 * outside since the last count. Raises that count so the rows plus it reach the limit, and no request asks Vapi
 * again until the next count finds room.
 */
export function noteAccountFull(db: Db, limit: number, at: string) {
  const held = sql`(SELECT count(*) FROM phone_numbers WHERE source = 'vapi_free' AND status IN ('provisioning', 'active', 'stuck', 'failed'))`;
  return db
    .insert(vapiAccount)
    .values({ id: ACCOUNT, outsideFreeNumbers: sql`max(0, ${limit} - ${held})`, updatedAt: at })
    .onConflictDoUpdate({
      target: vapiAccount.id,
      set: { outsideFreeNumbers: sql`max(${vapiAccount.outsideFreeNumbers}, ${limit} - ${held})`, updatedAt: at },
    });
}

export function saveImportReport(db: Db, report: Record<string, unknown>, at: string) {
  return db
    .insert(vapiAccount)
    .values({ id: ACCOUNT, lastImport: report, lastImportAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: vapiAccount.id, set: { lastImport: report, lastImportAt: at, updatedAt: at } });
}
