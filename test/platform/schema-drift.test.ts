import { env } from "cloudflare:workers";
import { is } from "drizzle-orm";
import { getTableConfig, integer, SQLiteTable, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";

/** What both sides must agree on, in a form that diffs readably. */
interface TableShape {
  columns: Record<string, { type: string; notNull: boolean; primaryKey: boolean; hasDefault: boolean }>;
  indexes: Record<string, { unique: boolean; partial: boolean; columns: string[] }>;
}

const schemaTables = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));

/** The table as drizzle's schema declares it. */
function declared(table: SQLiteTable): TableShape {
  const config = getTableConfig(table);
  const shape: TableShape = { columns: {}, indexes: {} };
  for (const column of config.columns) {
    shape.columns[column.name] = {
      type: column.getSQLType().toLowerCase(),
      notNull: column.notNull,
      primaryKey: column.primary,
      hasDefault: column.default !== undefined,
    };
  }
  for (const index of config.indexes) {
    shape.indexes[index.config.name] = {
      unique: Boolean(index.config.unique),
      partial: index.config.where !== undefined,
      columns: index.config.columns.map((c) => (c as { name: string }).name),
    };
  }
  return shape;
}

/** The table as the migrations built it in D1. */
async function migrated(name: string): Promise<TableShape> {
  const shape: TableShape = { columns: {}, indexes: {} };
  const { results: columns } = await env.DB.prepare(`PRAGMA table_info(${JSON.stringify(name)})`).all<{
    name: string;
    type: string;
    notnull: number;
    pk: number;
    dflt_value: string | null;
  }>();
  for (const column of columns) {
    shape.columns[column.name] = {
      type: column.type.toLowerCase(),
      notNull: column.notnull === 1,
      primaryKey: column.pk > 0,
      hasDefault: column.dflt_value !== null,
    };
  }
  const { results: indexes } = await env.DB.prepare(`PRAGMA index_list(${JSON.stringify(name)})`).all<{
    name: string;
    unique: number;
    origin: string;
    partial: number;
  }>();
  for (const index of indexes.filter((i) => i.origin === "c")) {
    const { results: parts } = await env.DB.prepare(`PRAGMA index_info(${JSON.stringify(index.name)})`).all<{
      seqno: number;
      name: string;
    }>();
    shape.indexes[index.name] = {
      unique: index.unique === 1,
      partial: index.partial === 1,
      columns: parts.sort((a, b) => a.seqno - b.seqno).map((p) => p.name),
    };
  }
  return shape;
}

async function migratedTableNames(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  return results.map((r) => r.name);
}

/** Human-readable differences between the schema's shape and the migrated one (empty when they agree). */
function drift(table: string, want: TableShape, have: TableShape): string[] {
  const problems: string[] = [];
  for (const [kind, wanted, had] of [
    ["column", want.columns, have.columns],
    ["index", want.indexes, have.indexes],
  ] as const) {
    for (const name of Object.keys(wanted)) {
      if (!(name in had)) problems.push(`${table}: ${kind} ${name} is in schema.ts but not in the migrations`);
      else if (JSON.stringify(wanted[name]) !== JSON.stringify(had[name])) {
        problems.push(
          `${table}: ${kind} ${name} differs: schema.ts ${JSON.stringify(wanted[name])}, migrations ${JSON.stringify(had[name])}`,
        );
      }
    }
    for (const name of Object.keys(had)) {
      if (!(name in wanted)) problems.push(`${table}: ${kind} ${name} is in the migrations but not in schema.ts`);
    }
  }
  return problems;
}

describe("src/db/schema.ts and migrations/ agree (run `npm run db:generate` after changing the schema)", () => {
  it("the schema exports the tables the foundation relies on", () => {
    expect(schemaTables.map((t) => getTableConfig(t).name).sort()).toEqual(
      expect.arrayContaining(["alerts", "assistants", "idempotency_keys", "phone_number_events", "phone_numbers"]),
    );
  });

  it("the same tables exist on both sides", async () => {
    expect(await migratedTableNames()).toEqual(schemaTables.map((t) => getTableConfig(t).name).sort());
  });

  it.each(schemaTables.map((t) => [getTableConfig(t).name, t] as const))("table %s: same columns and indexes", async (name, table) => {
    expect(drift(name, declared(table), await migrated(name))).toEqual([]);
  });

  it("the comparison notices a column or index added on one side only, or changed", async () => {
    const have = await migrated("assistants");
    const want = declared(schema.assistants);
    expect(drift("assistants", want, have)).toEqual([]);

    // What declared() reads from a table that has one column more than the migrations.
    const extended = sqliteTable("assistants", { id: text("id").primaryKey(), new_column: integer("new_column").notNull() }, (t) => [
      uniqueIndex("assistants_new_column").on(t.new_column),
    ]);
    const extra = declared(extended);
    expect(extra.columns.new_column).toEqual({ type: "integer", notNull: true, primaryKey: false, hasDefault: false });

    const withColumn = { ...want, columns: { ...want.columns, new_column: extra.columns.new_column! } };
    expect(drift("assistants", withColumn, have)).toEqual(["assistants: column new_column is in schema.ts but not in the migrations"]);
    const withIndex = { ...want, indexes: { ...want.indexes, assistants_new_column: extra.indexes.assistants_new_column! } };
    expect(drift("assistants", withIndex, have)).toEqual([
      "assistants: index assistants_new_column is in schema.ts but not in the migrations",
    ]);
    const nullable = { ...want, columns: { ...want.columns, name: { ...want.columns.name!, notNull: false } } };
    expect(drift("assistants", nullable, have)).toHaveLength(1);
    const notUnique = {
      ...want,
      indexes: { ...want.indexes, assistants_vapi_assistant_id: { ...want.indexes.assistants_vapi_assistant_id!, unique: false } },
    };
    expect(drift("assistants", notUnique, have)).toHaveLength(1);
    const { deleted_at: _dropped, ...fewer } = want.columns;
    expect(drift("assistants", { ...want, columns: fewer }, have)).toEqual([
      "assistants: column deleted_at is in the migrations but not in schema.ts",
    ]);
  });
});
