import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { createLogger } from "../../src/platform/log";
import { loadSettings, type Settings } from "../../src/platform/settings";
import { createServices, type Services } from "../../src/services";
import { token } from "./api";

export const DAY_MS = 86_400_000;
export const WEBHOOK_URL = "https://hooks.example.test/services/T000/B000/switchboard";

export const adminToken = () => token({ org: null, role: "platform_admin" });

/** The operations services' dependencies as the cron builds them; `waitUntil` collects the alert posts. */
export async function opsDeps(options: { settings?: Partial<Settings> } = {}): Promise<Services & { settled: () => Promise<unknown[]> }> {
  const settings = { ...loadSettings(env), ...options.settings };
  const pending: Promise<unknown>[] = [];
  const services = createServices({
    env,
    settings,
    log: createLogger({ test: true }),
    publicUrl: "https://switchboard.test",
    waitUntil: (promise) => void pending.push(promise),
  });
  return Object.assign(services, { settled: () => Promise.all(pending) });
}

const scheduled = worker.scheduled as ExportedHandlerScheduledHandler<Env>;

/** Runs a Cron Trigger as Cloudflare would (with an execution context, waited on), at `scheduledTime`. */
export async function runCron(
  cron: "*/5 * * * *" | "17 3 * * *",
  scheduledTime = Date.now(),
  vars: Record<string, string> = {},
): Promise<void> {
  const controller = createScheduledController({ scheduledTime, cron });
  const ctx = createExecutionContext();
  await scheduled(controller, { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
}

export interface AlertRecord {
  id: number;
  kind: string;
  subject: string;
  status: string;
  message: string;
  notified_at: string | null;
  resolved_at: string | null;
}

export async function alertRows(kind?: string): Promise<AlertRecord[]> {
  const query = kind
    ? env.DB.prepare("SELECT * FROM alerts WHERE kind = ? ORDER BY id").bind(kind)
    : env.DB.prepare("SELECT * FROM alerts ORDER BY id");
  return (await query.all<AlertRecord>()).results;
}

export async function eventRows(
  numberId: string,
): Promise<{ id: number; event: string; detail: Record<string, unknown> | null; assistant_id: string | null }[]> {
  const { results } = await env.DB.prepare(
    "SELECT id, event, detail, assistant_id FROM phone_number_events WHERE phone_number_id = ? ORDER BY id",
  )
    .bind(numberId)
    .all<{ id: number; event: string; detail: string | null; assistant_id: string | null }>();
  return results.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
}

/** Empties the Twilio tables too (resetState leaves organisations alone). */
export async function resetTwilio(): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM organizations"), env.DB.prepare("DELETE FROM twilio_numbers")]);
}
