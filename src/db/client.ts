import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof createDb>;

/** Counts what one request costs: D1 round trips (a batch is one) and calls to each upstream. */
export class RequestCost {
  d1 = 0;
  upstream: Record<string, number> = {};

  countUpstream(service: string): void {
    this.upstream[service] = (this.upstream[service] ?? 0) + 1;
  }

  get upstreamTotal(): number {
    return Object.values(this.upstream).reduce((a, b) => a + b, 0);
  }
}

/** One statement as D1 received it: its SQL text and bound values. */
export interface ExecutedStatement {
  sql: string;
  params: unknown[];
}

let statementRecorder: ((statement: ExecutedStatement) => void) | null = null;

/**
 * Test hook: every statement executed through a counted `createDb` (alone or in a batch) is passed to `recorder`
 * until it is replaced or cleared with null. The query-plan test uses it to check every query the code issues.
 */
export function recordStatements(recorder: ((statement: ExecutedStatement) => void) | null): void {
  statementRecorder = recorder;
}

/** D1 binds at most 100 parameters a statement: `ids` in chunks of 90, leaving room for a few more. */
export const idChunks = <T>(ids: T[]): T[][] =>
  Array.from({ length: Math.ceil(ids.length / 90) }, (_, i) => ids.slice(i * 90, (i + 1) * 90));

export function createDb(d1: D1Database, cost?: RequestCost) {
  return drizzle(cost ? countRoundTrips(d1, cost) : d1, { schema });
}

const EXECUTORS = new Set(["first", "all", "run", "raw"]);

/** Wraps the binding so every executed statement or batch adds one round trip to `cost` (and reaches the recorder). */
function countRoundTrips(d1: D1Database, cost: RequestCost): D1Database {
  const originals = new WeakMap<object, D1PreparedStatement>();
  const executed = new WeakMap<object, ExecutedStatement>();
  const wrap = (statement: D1PreparedStatement, sent: ExecutedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values), { sql: sent.sql, params: values });
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (typeof prop === "string" && EXECUTORS.has(prop)) {
          return (...args: unknown[]) => {
            cost.d1++;
            statementRecorder?.(sent);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    originals.set(proxy, statement);
    executed.set(proxy, sent);
    return proxy;
  };
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query), { sql: query, params: [] });
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          cost.d1++;
          for (const s of statements) {
            const sent = executed.get(s);
            if (sent) statementRecorder?.(sent);
          }
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
