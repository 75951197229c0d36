import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { organizations } from "../../db/schema";

/** The organisation's fallback line: where calls go when no assistant can take them. */
export async function getFallbackLine(db: Db, orgId: string): Promise<string | null> {
  const [org] = await db.select({ phone: organizations.fallbackPhone }).from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return org?.phone ?? null;
}

/** Sets (or, with null, removes) the fallback line; the organisation's row is made if it has none yet. */
export async function setFallbackLine(db: Db, orgId: string, phone: string | null): Promise<string | null> {
  const at = new Date().toISOString();
  await db
    .insert(organizations)
    .values({ id: orgId, fallbackPhone: phone, createdAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: organizations.id, set: { fallbackPhone: phone, updatedAt: at } });
  return phone;
}
