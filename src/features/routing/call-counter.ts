import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";

/** A call that never reported its end stops counting after this long (Vapi's longest calls are far shorter). */
export const LIVE_CALL_BOUND_MS = 2 * 60 * 60_000;
/** Ended calls are remembered this long, so a late or replayed "in progress" cannot revive them. */
const TOMBSTONE_MS = 24 * 60 * 60_000;

export interface Admission {
  callId: string;
  orgId: string | null;
  /** The organisation's cap (null: none of its own) and the account's total. */
  orgCap: number | null;
  totalCap: number;
}

export type AdmissionAnswer = { admitted: true } | { admitted: false; reason: "organization_cap" | "account_cap" };

export interface CallEvent {
  callId: string;
  orgId: string | null;
  event: "live" | "ended";
}

export interface LiveCalls {
  total: number;
  byOrg: { orgId: string; live: number }[];
}

/**
 * Live calls of the whole Vapi account, one object (`getByName("account")`): the count every organisation's cap
 * and the account's total are checked against. A call is keyed by its Vapi id, so a replayed event changes
 * nothing; an ended call stays ended whatever arrives after it (events may come out of order); a call whose
 * end was never reported stops counting after `LIVE_CALL_BOUND_MS`. Its state is in its own SQLite storage,
 * so a restart mid-call loses nothing, and a Durable Object runs one request at a time, so two admissions
 * cannot both take the last place.
 */
export class CallCounter extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS calls (
      call_id TEXT PRIMARY KEY,
      org_id TEXT,
      live INTEGER NOT NULL,
      seen_at INTEGER NOT NULL
    )`);
  }

  /** An inbound call asks for an assistant: it is counted as live if the caps allow it (and already was, if replayed). */
  admit(request: Admission, now = Date.now()): AdmissionAnswer {
    this.forget(now);
    const known = this.sql.exec<{ live: number }>("SELECT live FROM calls WHERE call_id = ?", request.callId).toArray()[0];
    if (known) return { admitted: true }; // a replayed request for a call already let in (or already over)
    const since = now - LIVE_CALL_BOUND_MS;
    const total = this.count("SELECT count(*) AS n FROM calls WHERE live = 1 AND seen_at > ?", since);
    if (total >= request.totalCap) return { admitted: false, reason: "account_cap" };
    if (request.orgId && request.orgCap !== null) {
      const ofOrg = this.count("SELECT count(*) AS n FROM calls WHERE live = 1 AND seen_at > ? AND org_id = ?", since, request.orgId);
      if (ofOrg >= request.orgCap) return { admitted: false, reason: "organization_cap" };
    }
    this.sql.exec("INSERT INTO calls (call_id, org_id, live, seen_at) VALUES (?, ?, 1, ?)", request.callId, request.orgId, now);
    return { admitted: true };
  }

  /** A call event: in progress counts the call (unless it already ended), an end stops counting it for good. */
  observe(event: CallEvent, now = Date.now()): LiveCalls {
    if (event.event === "live") {
      this.sql.exec(
        `INSERT INTO calls (call_id, org_id, live, seen_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (call_id) DO UPDATE SET seen_at = excluded.seen_at, org_id = coalesce(calls.org_id, excluded.org_id)
         WHERE calls.live = 1`,
        event.callId,
        event.orgId,
        now,
      );
    } else {
      this.sql.exec(
        `INSERT INTO calls (call_id, org_id, live, seen_at) VALUES (?, ?, 0, ?)
         ON CONFLICT (call_id) DO UPDATE SET live = 0, seen_at = excluded.seen_at`,
        event.callId,
        event.orgId,
        now,
      );
    }
    return this.live(now);
  }

  live(now = Date.now()): LiveCalls {
    const since = now - LIVE_CALL_BOUND_MS;
    const rows = this.sql
      .exec<{ org_id: string | null; n: number }>(
        "SELECT org_id, count(*) AS n FROM calls WHERE live = 1 AND seen_at > ? GROUP BY org_id ORDER BY org_id",
        since,
      )
      .toArray();
    return {
      total: rows.reduce((sum, row) => sum + row.n, 0),
      byOrg: rows.filter((row) => row.org_id !== null).map((row) => ({ orgId: row.org_id!, live: row.n })),
    };
  }

  private count(query: string, ...bindings: (string | number)[]): number {
    return this.sql.exec<{ n: number }>(query, ...bindings).one().n;
  }

  /** Ended calls past their tombstone, and live ones past any sane duration, are dropped. */
  private forget(now: number): void {
    this.sql.exec("DELETE FROM calls WHERE seen_at < ?", now - TOMBSTONE_MS);
  }
}

/** The account's counter as the services hand it to rules (RPC; each call is one round trip to the object). */
export interface CallCounterClient {
  admit(request: Admission): Promise<AdmissionAnswer>;
  observe(event: CallEvent): Promise<LiveCalls>;
  live(): Promise<LiveCalls>;
}

export function callCounterOf(env: Pick<Env, "CALL_COUNTER">): CallCounterClient {
  const stub = () => env.CALL_COUNTER.getByName("account");
  return {
    admit: (request) => stub().admit(request),
    observe: (event) => stub().observe(event),
    live: () => stub().live(),
  };
}
