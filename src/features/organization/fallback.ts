import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { organizations } from "../../db/schema";
import type { Services } from "../../services";
import { followFallbacks } from "../routing/fallback";

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
