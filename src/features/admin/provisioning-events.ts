import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { Db } from "../../db/client";
import { ApiError } from "../../platform/errors";
import { createRouter } from "../../platform/router";
import { oldestNotReady, provisioningQueries, toProvisioningNumber, type ProvisioningNumber } from "./overview";
import { authErrors } from "../../platform/openapi";
import { platformAdmin, security, tags } from "./access";

/** How often the stream reads D1 (trackers, webhooks and refreshes write progress there). */
const PROVISIONING_EVENTS_POLL_MS = 1000;
/** A comment line after this long without a write, so proxies and browsers keep the connection. */
const PROVISIONING_EVENTS_KEEPALIVE_MS = 15_000;
/** A stream ends after this long; clients reconnect (the dashboard does). */
const PROVISIONING_EVENTS_MAX_MS = 10 * 60_000;

const events = createRoute({
  method: "get",
  path: "/api/admin/phone-pool/provisioning/events",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Numbers provisioning, stuck or failed, as server-sent events",
  description:
    "Sends a `provisioning` event whose data is the JSON list of numbers provisioning, stuck or failed (the items of `provisioning` in " +
    "GET /api/admin/phone-pool) now and whenever it changes: progress, a new number, one that became active. D1 is read once a second " +
    "(one query). A `: keepalive` comment follows 15 s without an event. The stream ends after 10 minutes (reconnect), after an `error` " +
    "event if progress cannot be read, or when the client goes away. Browsers read it with fetch() (EventSource cannot send the token).",
  responses: {
    200: {
      description: "An event stream of `provisioning` events (data: a JSON array of PoolOverview.provisioning items)",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...authErrors,
  },
});

/** The `provisioning` items of GET /api/admin/phone-pool: the same queries and shape, in one D1 round trip. */
async function readProvisioning(db: Db, maxAttempts: number): Promise<ProvisioningNumber[]> {
  return oldestNotReady(await db.batch(provisioningQueries(db))).map((row) => toProvisioningNumber(row, maxAttempts));
}

export const provisioningEventsRouter = createRouter().openapi(events, async (c) => {
  const db = c.var.db;
  const maxAttempts = c.var.settings.POLL_MAX_ATTEMPTS;
  const log = c.var.log;
  // Read once before answering: a failure here is an error response in the one shape, not a broken stream.
  let current = await readProvisioning(db, maxAttempts);
  return streamSSE(c, async (stream) => {
    const started = Date.now();
    let lastWrite = started;
    let sent = "";
    for (let seq = 0; !stream.aborted; ) {
      const payload = JSON.stringify(current);
      if (payload !== sent) {
        await stream.writeSSE({ event: "provisioning", data: payload, id: String(++seq) });
        sent = payload;
        lastWrite = Date.now();
      } else if (Date.now() - lastWrite >= PROVISIONING_EVENTS_KEEPALIVE_MS) {
        await stream.write(": keepalive\n\n");
        lastWrite = Date.now();
      }
      if (Date.now() - started + PROVISIONING_EVENTS_POLL_MS > PROVISIONING_EVENTS_MAX_MS) break;
      await stream.sleep(PROVISIONING_EVENTS_POLL_MS);
      if (stream.aborted) break;
      try {
        current = await readProvisioning(db, maxAttempts);
      } catch (error) {
        log.warn("provisioning_events_read_failed", { error });
        const body =
          error instanceof ApiError
            ? error.toBody()
            : { error: { code: "internal_error", message: "Provisioning progress could not be read." } };
        await stream.writeSSE({ event: "error", data: JSON.stringify(body) });
        break;
      }
    }
  });
});
