import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumberEvents } from "../../db/schema";
import type { PhoneNumberEvent } from "./pool";

/** Who an event names: given, or (`NUMBER_HOLDER`) the organisation and assistant the number's row holds then. */
export const NUMBER_HOLDER = "the number's holder";
type EventSubject = { orgId?: string | null; assistantId?: string | null } | typeof NUMBER_HOLDER;

/**
 * A history event written only if the statement just before it in the same batch changed a row
 * (`WHERE changes() = 1`: D1 runs a batch's statements in order on one connection), so a guarded UPDATE that
 * lost a race records nothing.
 */
export function eventIfChanged(
  db: Db,
  numberId: string,
  event: PhoneNumberEvent,
  who: EventSubject,
  at: string,
  detail: Record<string, unknown>,
) {
  const values = sql`NULL, ${numberId}, ${event}`;
  if (who === NUMBER_HOLDER) {
    return db
      .insert(phoneNumberEvents)
      .select(
        sql`SELECT ${values}, org_id, assistant_id, ${JSON.stringify(detail)}, ${at} FROM phone_numbers WHERE id = ${numberId} AND changes() = 1`,
      );
  }
  return db
    .insert(phoneNumberEvents)
    .select(sql`SELECT ${values}, ${who.orgId ?? null}, ${who.assistantId ?? null}, ${JSON.stringify(detail)}, ${at} WHERE changes() = 1`);
}

/**
 * A history event about a number and its assistant, written only while the number is still that assistant's:
 * an assistant deleted while its number was being attached gets no "assigned" or "reused" after its "unassigned".
 */
export function eventWhileAssigned(
  db: Db,
  numberId: string,
  event: PhoneNumberEvent,
  who: { orgId?: string | null; assistantId: string },
  at: string,
  detail: Record<string, unknown> | null = null,
) {
  return db.insert(phoneNumberEvents).select(
    sql`SELECT NULL, ${numberId}, ${event}, ${who.orgId ?? null}, ${who.assistantId}, ${detail ? JSON.stringify(detail) : null}, ${at}
        WHERE EXISTS (SELECT 1 FROM phone_numbers WHERE id = ${numberId} AND assistant_id = ${who.assistantId})`,
  );
}
