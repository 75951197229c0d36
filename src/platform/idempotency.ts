import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { ApiError } from "./errors";

interface StoredResponse {
  status: number;
  body: unknown;
}

interface IdempotentResult extends StoredResponse {
  replayed: boolean;
}

/** A request still `processing` after this long is taken to have crashed, and may be run again. */
const ABANDONED_AFTER_MS = 5 * 60_000;
const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60_000;

/**
 * Runs `operation` once per (scope, key): a retry with the same body gets the first response again, a retry
 * with another body is refused with 422, and one that arrives while the first still runs gets 409.
 * A failed operation forgets the key, since it kept nothing; the caller may retry with the same key.
 */
export async function runIdempotent(
  db: Db,
  scope: string,
  key: string,
  requestHash: string,
  operation: () => Promise<StoredResponse>,
): Promise<IdempotentResult> {
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID.");
  }
  const storageKey = `${scope}:${key}`;
  const createdAt = new Date().toISOString();
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ key: storageKey, requestHash, state: "processing", createdAt })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });

  if (claimed.length === 0) {
    const [existing] = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, storageKey));
    if (existing) {
      if (existing.requestHash !== requestHash) {
        throw new ApiError(
          422,
          "idempotency_key_reused",
          "This Idempotency-Key was already used with a different request body. Use a new key for a new request.",
        );
      }
      if (existing.state === "done") {
        return { status: existing.responseStatus ?? 200, body: JSON.parse(existing.responseBody ?? "null"), replayed: true };
      }
      const abandoned = Date.parse(existing.createdAt) < Date.now() - ABANDONED_AFTER_MS;
      const retaken = abandoned
        ? await db
            .update(idempotencyKeys)
            .set({ createdAt })
            .where(
              and(
                eq(idempotencyKeys.key, storageKey),
                eq(idempotencyKeys.state, "processing"),
                eq(idempotencyKeys.createdAt, existing.createdAt),
              ),
            )
            .returning({ key: idempotencyKeys.key })
        : [];
      if (retaken.length === 0) {
        throw requestInProgress();
      }
    }
    // A key that vanished between the two statements was just forgotten by a failed run: proceed.
  }

  let response: StoredResponse;
  try {
    response = await operation();
  } catch (error) {
    await db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, storageKey));
    throw error;
  }
  await db
    .update(idempotencyKeys)
    .set({ state: "done", responseStatus: response.status, responseBody: JSON.stringify(response.body) })
    .where(eq(idempotencyKeys.key, storageKey));
  return { ...response, replayed: false };
}

/** Forgets keys older than a day (run by the daily cron). */
export async function pruneIdempotencyKeys(db: Db, nowMs = Date.now()): Promise<number> {
  const cutoff = new Date(nowMs - IDEMPOTENCY_KEY_TTL_MS).toISOString();
  const removed = await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff)).returning({ key: idempotencyKeys.key });
  return removed.length;
}

/** A request with this Idempotency-Key is still running: the caller retries shortly and gets its outcome. */
export const requestInProgress = () =>
  new ApiError(
    409,
    "idempotency_request_in_progress",
    "A request with this Idempotency-Key is still being processed. Retry in a few seconds.",
    undefined,
    {
      "Retry-After": "2",
    },
  );
