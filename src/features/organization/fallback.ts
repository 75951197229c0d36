import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { organizations } from "../../db/schema";
import type { Services } from "../../services";
import { followFallbacks } from "../routing/fallback";

/** The organisation's own routing settings: its fallback line and its concurrent-call cap. */

/** The organisation's fallback line: where calls go when no assistant can take them. */
export async function getFallbackLine(db: Db, orgId: string): Promise<string | null> {
  const [org] = await db.select({ phone: organizations.fallbackPhone }).from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return org?.phone ?? null;
}

/**
 * Sets (or, with null, removes) the fallback line; the organisation's row is made if it has none yet. In edge
 * routing its numbers' `fallbackDestination` in Vapi follow after the response.
 */
export async function setFallbackLine(
  deps: Pick<Services, "db" | "settings" | "log" | "inBackground">,
  orgId: string,
  phone: string | null,
): Promise<string | null> {
  const at = new Date().toISOString();
  await deps.db
    .insert(organizations)
    .values({ id: orgId, fallbackPhone: phone, createdAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: organizations.id, set: { fallbackPhone: phone, updatedAt: at } });
  await followFallbacks(deps, { orgId });
  return phone;
}

/** The organisation's concurrent-call cap (null: none of its own); its row is made if it has none yet. */
export async function setCallCap(db: Db, orgId: string, cap: number | null): Promise<void> {
  const at = new Date().toISOString();
  await db
    .insert(organizations)
    .values({ id: orgId, maxConcurrentCalls: cap, createdAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: organizations.id, set: { maxConcurrentCalls: cap, updatedAt: at } });
}
