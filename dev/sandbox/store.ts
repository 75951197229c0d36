import type { SandboxFault, SandboxRequestRecord, SandboxService } from "./upstream-sandbox";

/** The sandbox's tables in its Durable Object's SQLite: simulated resources, the request log, faults, clock. */
export class SandboxStore {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS resources (
        kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
        status INTEGER NOT NULL, body TEXT, at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS faults (
        id INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, remaining INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ms INTEGER NOT NULL);
      -- A page of a list, and the count of free Vapi numbers, without reading every resource (large accounts).
      CREATE INDEX IF NOT EXISTS resources_created ON resources (kind, created_at);
      CREATE INDEX IF NOT EXISTS resources_provider ON resources (kind, json_extract(data, '$.provider'));
    `);
  }

  reset(): void {
    this.sql.exec("DELETE FROM resources; DELETE FROM requests; DELETE FROM faults; DELETE FROM clock;");
  }

  now(): number {
    const row = this.sql.exec<{ offset_ms: number }>("SELECT offset_ms FROM clock WHERE id = 1").toArray()[0];
    return Date.now() + (row?.offset_ms ?? 0);
  }

  advanceClock(seconds: number): void {
    this.sql.exec(
      "INSERT INTO clock (id, offset_ms) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET offset_ms = offset_ms + excluded.offset_ms",
      Math.round(seconds * 1000),
    );
  }

  getResource<T extends Record<string, unknown>>(kind: string, id: string): T | null {
    const row = this.sql.exec<{ data: string }>("SELECT data FROM resources WHERE kind = ? AND id = ?", kind, id).toArray()[0];
    return row ? (JSON.parse(row.data) as T) : null;
  }

  /** `createdAt` is kept as an ISO 8601 instant, so pages compare and sort it as time. */
  putResource(kind: string, id: string, data: Record<string, unknown>, createdAt: string): void {
    this.sql.exec(
      "INSERT INTO resources (kind, id, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data",
      kind,
      id,
      JSON.stringify(data),
      Number.isNaN(Date.parse(createdAt)) ? createdAt : new Date(createdAt).toISOString(),
    );
  }

  deleteResource(kind: string, id: string): void {
    this.sql.exec("DELETE FROM resources WHERE kind = ? AND id = ?", kind, id);
  }

  listResources<T extends Record<string, unknown>>(kind: string): T[] {
    return this.sql
      .exec<{ data: string }>("SELECT data FROM resources WHERE kind = ? ORDER BY created_at DESC, id", kind)
      .toArray()
      .map((row) => JSON.parse(row.data) as T);
  }

  /**
   * Newest first, as `listResources`, at most `limit`, created within the bounds (instants, compared as ISO 8601:
   * `op` is one of < <= > >=).
   */
  listPage<T extends Record<string, unknown>>(kind: string, bounds: { op: "<" | "<=" | ">" | ">="; at: number }[], limit: number): T[] {
    const where = bounds.map(({ op }) => ` AND created_at ${op} ?`).join("");
    return this.sql
      .exec<{ data: string }>(
        `SELECT data FROM resources WHERE kind = ?${where} ORDER BY created_at DESC, id LIMIT ?`,
        kind,
        ...bounds.map(({ at }) => new Date(at).toISOString()),
        limit,
      )
      .toArray()
      .map((row) => JSON.parse(row.data) as T);
  }

  /** Resources of `kind` whose JSON has this `provider`. */
  countByProvider(kind: string, provider: string): number {
    return this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM resources WHERE kind = ? AND json_extract(data, '$.provider') = ?", kind, provider)
      .one().n;
  }

  countResources(kind: string): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM resources WHERE kind = ?", kind).one().n;
  }

  recordRequest(service: string, method: string, path: string, body: string, status: number): void {
    this.sql.exec(
      "INSERT INTO requests (service, method, path, status, body, at) VALUES (?, ?, ?, ?, ?, ?)",
      service,
      method,
      path,
      status,
      body || null,
      new Date().toISOString(),
    );
  }

  listRequests(service?: SandboxService): SandboxRequestRecord[] {
    const rows = service
      ? this.sql.exec("SELECT * FROM requests WHERE service = ? ORDER BY id", service).toArray()
      : this.sql.exec("SELECT * FROM requests ORDER BY id").toArray();
    return rows.map((row) => ({
      id: row.id as number,
      service: row.service as SandboxService,
      method: row.method as string,
      path: row.path as string,
      status: row.status as number,
      body: parseJson(row.body as string | null) as SandboxRequestRecord["body"],
      at: row.at as string,
    }));
  }

  clearRequests(): void {
    this.sql.exec("DELETE FROM requests");
  }

  addFault(fault: SandboxFault): void {
    this.sql.exec("INSERT INTO faults (spec, remaining) VALUES (?, ?)", JSON.stringify(fault), fault.count);
  }

  clearFaults(): void {
    this.sql.exec("DELETE FROM faults");
  }

  /** The first pending fault matching this call, consumed. */
  takeFault(service: string, method: string, path: string): SandboxFault | null {
    const rows = this.sql.exec<{ id: number; spec: string }>("SELECT id, spec FROM faults WHERE remaining > 0 ORDER BY id").toArray();
    for (const row of rows) {
      const fault = JSON.parse(row.spec) as SandboxFault;
      if (fault.service !== service) continue;
      if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.pathPrefix && !path.startsWith(fault.pathPrefix)) continue;
      this.sql.exec("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", row.id);
      return fault;
    }
    return null;
  }
}

function parseJson(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
