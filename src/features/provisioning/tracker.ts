import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { createLogger } from "../../platform/log";
import { loadSettings } from "../../platform/settings";
import { createServices } from "../../services";
import { UpstreamError } from "../../integrations/http";
import { applyVapiState, markFailed, markStuck, recordProgress, trackerKeyFor } from "./activation";

export interface TrackingRequest {
  numberId: string;
  vapiPhoneNumberId: string;
  assistantId: string | null;
}

export type TrackerStatus = "tracking" | "active" | "stuck" | "failed" | "stopped";

export interface TrackerState extends TrackingRequest {
  status: TrackerStatus;
  attempts: number;
  maxAttempts: number;
  intervalMs: number;
  startedAt: number;
  nextCheckAt: number | null;
  lastError: string | null;
}

/**
 * Follows one provisioning number until Vapi says it is live: a check every POLL_INTERVAL_SECONDS, at most
 * POLL_MAX_ATTEMPTS, then `stuck`. One per assistant (`idFromName(assistantId)`; pre-provisioned numbers
 * use `number:<id>`). Its state lives in its own SQLite storage, so eviction and restarts resume where it
 * was; the alarm is re-armed in a `finally`, so an exception never silently ends tracking.
 */
export class ProvisioningTracker extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tracking (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)`);
  }

  /**
   * Starts (or, for the same number, keeps) tracking. A duplicate start changes nothing but re-arming a lost
   * alarm; `rearmed` says whether an alarm had to be set.
   */
  async start(request: TrackingRequest): Promise<{ state: TrackerState; rearmed: boolean }> {
    const current = this.load();
    if (current && current.numberId === request.numberId && current.status === "tracking") {
      if ((await this.ctx.storage.getAlarm()) !== null) return { state: current, rearmed: false };
      await this.arm(current, 0);
      return { state: this.load()!, rearmed: true };
    }
    const settings = loadSettings(this.env);
    const state: TrackerState = {
      ...request,
      status: "tracking",
      attempts: 0,
      maxAttempts: settings.POLL_MAX_ATTEMPTS,
      intervalMs: settings.POLL_INTERVAL_SECONDS * 1000,
      startedAt: Date.now(),
      nextCheckAt: null,
      lastError: null,
    };
    await this.arm(state);
    return { state: this.load()!, rearmed: true };
  }

  /** Ends tracking (a webhook or a refresh found the number live, or an operator fixed it). */
  async stop(reason: TrackerStatus = "stopped"): Promise<void> {
    const state = this.load();
    await this.ctx.storage.deleteAlarm();
    if (state && state.status === "tracking") this.save({ ...state, status: reason, nextCheckAt: null });
  }

  state(): TrackerState | null {
    return this.load();
  }

  override async alarm(): Promise<void> {
    let state = this.load();
    if (state?.status !== "tracking") return;
    try {
      state = await this.check(state);
    } finally {
      const latest = this.load() ?? state;
      if (latest.status === "tracking" && (await this.ctx.storage.getAlarm()) === null) await this.arm(latest);
    }
  }

  /** One check of Vapi. A Vapi error counts as an attempt; a storage error throws, for the platform's retry. */
  private async check(state: TrackerState): Promise<TrackerState> {
    const settings = loadSettings(this.env);
    const log = createLogger({ tracker: this.ctx.id.toString(), phone_number_id: state.numberId, assistant_id: state.assistantId });
    // The services of this alarm; a check creates no Vapi number, so it needs no webhook URL.
    const deps = createServices({ env: this.env, settings, log, publicUrl: settings.PUBLIC_URL ?? "" });
    const attempts = state.attempts + 1;
    const next: TrackerState = { ...state, attempts, lastError: null };

    let outcome: "active" | "failed" | "pending";
    try {
      const vapiNumber = await deps.vapi.getPhoneNumber(state.vapiPhoneNumberId);
      outcome = await applyVapiState(deps, state.numberId, vapiNumber, "poll");
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      if (error.isNotFound) {
        await markFailed(deps, state.numberId, "the number no longer exists in Vapi");
        outcome = "failed";
      } else {
        next.lastError = error.message;
        log.warn("provisioning_check_failed", { attempts, error: error.message });
        outcome = "pending";
      }
    }

    if (outcome !== "pending") return this.finish(next, outcome);
    if (attempts >= state.maxAttempts) {
      await markStuck(deps, state.numberId, attempts);
      return this.finish(next, "stuck");
    }
    const nextCheckAt = Date.now() + state.intervalMs;
    await recordProgress(deps.db, state.numberId, attempts, new Date(nextCheckAt).toISOString());
    const tracking = { ...next, nextCheckAt };
    this.save(tracking);
    return tracking;
  }

  private finish(state: TrackerState, status: TrackerStatus): TrackerState {
    const done = { ...state, status, nextCheckAt: null };
    this.save(done);
    return done;
  }

  private async arm(state: TrackerState, delayMs = state.intervalMs): Promise<void> {
    const at = Date.now() + delayMs;
    this.save({ ...state, nextCheckAt: at });
    await this.ctx.storage.setAlarm(at);
  }

  private load(): TrackerState | null {
    const row = this.sql.exec<{ state: string }>("SELECT state FROM tracking WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.state) as TrackerState) : null;
  }

  private save(state: TrackerState): void {
    this.sql.exec(
      "INSERT INTO tracking (id, state) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
      JSON.stringify(state),
    );
  }
}

export function trackerStub(env: Pick<Env, "PROVISIONING_TRACKER">, key: string) {
  return env.PROVISIONING_TRACKER.getByName(key);
}

/** `startTracking` for the services: the tracker keyed by the number's assistant (or the number). */
export function trackerStarter(env: Pick<Env, "PROVISIONING_TRACKER">) {
  return async (request: TrackingRequest): Promise<void> => {
    await trackerStub(env, trackerKeyFor(request.assistantId, request.numberId)).start(request);
  };
}
