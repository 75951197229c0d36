import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect } from "vitest";
import { call } from "./api";

/**
 * The API as `/openapi.json` describes it, and a small generator of VALID values from its JSON schemas, so the
 * generated suites (tenant isolation, bad input) cover every route, including routes added later.
 */

export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  example?: unknown;
  default?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  description?: string;
};

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema?: Schema;
}

export interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, unknown>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, unknown>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface Endpoint {
  method: string;
  /** The path template as the document writes it, e.g. `/api/assistants/{id}`. */
  path: string;
  key: string;
  op: Operation;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The document the worker serves, fetched through the worker itself. */
export async function fetchOpenApi(): Promise<OpenApiDocument> {
  const response = await call("GET", "/openapi.json", { token: null });
  if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}

export function endpointsOf(doc: OpenApiDocument): Endpoint[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, key: `${method.toUpperCase()} ${path}`, op })),
  );
}

export const paramsIn = (endpoint: Endpoint, where: Parameter["in"]) => (endpoint.op.parameters ?? []).filter((p) => p.in === where);

export const securityOf = (endpoint: Endpoint) => (endpoint.op.security ?? []).flatMap((s) => Object.keys(s));

/** The JSON request body schema, if the operation declares one. */
export function bodySchemaOf(endpoint: Endpoint): Schema | undefined {
  return endpoint.op.requestBody?.content?.["application/json"]?.schema;
}

export const refName = (schema: Schema | undefined) => schema?.$ref?.split("/").pop();

/** Follows `$ref`s (and merges a lone `allOf`). */
export function resolve(doc: OpenApiDocument, schema: Schema | undefined): Schema {
  let current = schema ?? {};
  for (let depth = 0; current.$ref && depth < 20; depth++) {
    const name = refName(current)!;
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
    const { $ref: _ref, ...siblings } = current;
    current = { ...target, ...siblings };
  }
  if (current.allOf) {
    const { allOf, ...rest } = current;
    let merged: Schema = rest;
    for (const part of allOf) {
      const p = resolve(doc, part);
      merged = {
        ...merged,
        ...p,
        properties: { ...merged.properties, ...p.properties },
        required: [...(merged.required ?? []), ...(p.required ?? [])],
      };
    }
    return merged;
  }
  return current;
}

/** The JSON types a schema admits (`integer` also admits nothing but integers; a missing type admits anything). */
export function typesOf(doc: OpenApiDocument, schema: Schema): string[] {
  const s = resolve(doc, schema);
  if (s.oneOf || s.anyOf) return [...new Set((s.oneOf ?? s.anyOf)!.flatMap((o) => typesOf(doc, o)))];
  if (Array.isArray(s.type)) return s.type;
  if (s.type) return [s.type];
  if (s.properties) return ["object"];
  if (s.enum) return [...new Set(s.enum.map((v) => (v === null ? "null" : typeof v)))];
  return [];
}

const SEED = 20261126;

/**
 * The one table of component schemas the generator cannot make valid from the schema alone (keep it minimal: an
 * `example` on the schema is the better fix).
 */
export const BODY_OVERRIDES: Record<string, unknown> = {
  // A superRefine needs auth_token or an API key pair; the sandbox's always-present demo account accepts this one.
  TwilioConfigInput: { account_sid: `AC${"0".repeat(32)}`, auth_token: "sandbox-twilio-auth-token" },
};

export interface GenerateOptions {
  /** Whole values for named component schemas; BODY_OVERRIDES unless given. */
  overrides?: Record<string, unknown>;
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/**
 * A value the schema accepts: an override for the component, else its `example`, its `const`, its first `enum`
 * value, or one built from its type: objects get their required properties and the optional ones that carry an
 * example; strings honour `format`, `pattern` (a fixed-seed fast-check sample) and length bounds; numbers their bounds.
 */
export function validValue(doc: OpenApiDocument, schema: Schema | undefined, options: GenerateOptions = {}, depth = 0): unknown {
  if (depth > 12) throw new Error("schema too deep to generate");
  const overrides = options.overrides ?? BODY_OVERRIDES;
  const name = refName(schema);
  if (name && name in overrides) return clone(overrides[name]);
  const s = resolve(doc, schema);
  if (s.example !== undefined) return clone(s.example);
  if (s.const !== undefined) return clone(s.const);
  if (s.enum?.length) return clone(s.enum[0]);
  if (s.oneOf || s.anyOf) {
    const options_ = (s.oneOf ?? s.anyOf)!;
    const chosen = options_.find((o) => !typesOf(doc, o).every((t) => t === "null")) ?? options_[0];
    return validValue(doc, chosen, options, depth + 1);
  }
  const type = typesOf(doc, s).find((t) => t !== "null") ?? (typesOf(doc, s).includes("null") ? "null" : "object");
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(s.properties ?? {})) {
        const required = s.required?.includes(key) ?? false;
        if (required || resolve(doc, prop).example !== undefined) out[key] = validValue(doc, prop, options, depth + 1);
      }
      return out;
    }
    case "array": {
      const n = Math.max(1, s.minItems ?? 0);
      return Array.from({ length: n }, () => validValue(doc, s.items, options, depth + 1));
    }
    case "string":
      return validString(s);
    case "integer":
    case "number": {
      let n = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      if (s.maximum !== undefined) n = Math.min(n, s.maximum);
      if (s.exclusiveMaximum !== undefined) n = Math.min(n, s.exclusiveMaximum - 1);
      return n;
    }
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return "sample";
  }
}

function validString(s: Schema): string {
  switch (s.format) {
    case "uri":
    case "url":
      return "https://example.com/";
    case "email":
      return "someone@example.com";
    case "date-time":
      return "2026-11-26T14:00:00.000Z";
    case "date":
      return "2026-11-26";
    case "uuid":
      return "7c1e7a4e-2d7b-4c55-9a51-3f0e6d1c2b10";
  }
  if (s.pattern) return fc.sample(fc.stringMatching(new RegExp(s.pattern)), { seed: SEED, numRuns: 1 })[0]!;
  let text = "Sample value";
  if (s.minLength !== undefined && text.length < s.minLength) text = text.padEnd(s.minLength, "x");
  if (s.maxLength !== undefined) text = text.slice(0, Math.max(s.maxLength, s.minLength ?? 1));
  return text;
}

/** A field of a request body: where it is, its schema, and what its parent is. */
export interface Field {
  path: (string | number)[];
  name: string;
  schema: Schema;
  /** Resolved. */
  resolved: Schema;
  required: boolean;
  /** The object holding it refuses unknown keys. */
  strictParent: boolean;
}

export const pathText = (path: readonly (string | number)[]) => path.join(".");

/** Every field reachable through objects and (first items of) arrays, parents before children. */
export function fieldsOf(doc: OpenApiDocument, schema: Schema, maxDepth = 6): Field[] {
  const fields: Field[] = [];
  const walk = (s: Schema, path: (string | number)[], depth: number) => {
    if (depth > maxDepth) return;
    const r = resolve(doc, s);
    const types = typesOf(doc, r);
    if (types.includes("object") && r.properties) {
      for (const [key, prop] of Object.entries(r.properties)) {
        const childPath = [...path, key];
        fields.push({
          path: childPath,
          name: key,
          schema: prop,
          resolved: resolve(doc, prop),
          required: r.required?.includes(key) ?? false,
          strictParent: r.additionalProperties === false,
        });
        walk(prop, childPath, depth + 1);
      }
    }
    if (types.includes("array") && r.items) {
      const childPath = [...path, 0];
      fields.push({
        path: childPath,
        name: path.length ? String(path[path.length - 1]) : "(items)",
        schema: r.items,
        resolved: resolve(doc, r.items),
        required: false,
        strictParent: false,
      });
      walk(r.items, childPath, depth + 1);
    }
  };
  walk(schema, [], 0);
  return fields;
}

/**
 * The fields worth attacking one by one: a structural field (object or array) whose schema equals an earlier
 * sibling's (the seven days of opening hours) is left out with everything under it; leaves are all kept.
 */
export function distinctFieldsOf(doc: OpenApiDocument, schema: Schema, maxDepth = 6): Field[] {
  const seen = new Set<string>();
  const dropped: string[] = [];
  return fieldsOf(doc, schema, maxDepth).filter((field) => {
    const path = pathText(field.path);
    if (dropped.some((prefix) => path.startsWith(`${prefix}.`))) return false;
    const structural = typesOf(doc, field.resolved).some((t) => t === "object" || t === "array");
    if (!structural) return true;
    const key = `${pathText(field.path.slice(0, -1))}|${JSON.stringify(field.resolved)}`;
    if (seen.has(key)) {
      dropped.push(path);
      return false;
    }
    seen.add(key);
    return true;
  });
}

/** The objects along a path that refuse unknown keys (the root included), for the extra-field test. */
export function strictObjectsOf(doc: OpenApiDocument, schema: Schema): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (resolve(doc, schema).additionalProperties === false && typesOf(doc, schema).includes("object")) out.push([]);
  for (const field of fieldsOf(doc, schema)) {
    if (field.resolved.additionalProperties === false && typesOf(doc, field.resolved).includes("object")) out.push(field.path);
  }
  return out;
}

function schemaAt(doc: OpenApiDocument, root: Schema, path: readonly (string | number)[]): Schema {
  let s = root;
  for (const key of path) {
    const r = resolve(doc, s);
    s = typeof key === "number" ? (r.items ?? {}) : (r.properties?.[key] ?? {});
  }
  return s;
}

/**
 * `base` with `value` at `path` (or the key removed when `value` is REMOVE); parents missing from `base` are first
 * made with valid values of their schemas, so a nested field can be tested even when the minimal body omits it.
 */
export const REMOVE = Symbol("remove");
export function withValue(
  doc: OpenApiDocument,
  root: Schema,
  base: unknown,
  path: readonly (string | number)[],
  value: unknown,
  options: GenerateOptions = {},
): unknown {
  if (path.length === 0) return value === REMOVE ? undefined : clone(value);
  const out = clone(base) as Record<string | number, unknown>;
  let cursor: Record<string | number, unknown> = out;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const next = cursor[key];
    if (next === null || typeof next !== "object") {
      const made = validValue(doc, schemaAt(doc, root, path.slice(0, i + 1)), options);
      cursor[key] = made !== null && typeof made === "object" ? made : typeof path[i + 1] === "number" ? [] : {};
    }
    cursor = cursor[key] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === REMOVE) {
    if (Array.isArray(cursor) && typeof last === "number") cursor.splice(last, 1);
    else delete cursor[last];
  } else {
    cursor[last] = clone(value);
  }
  return out;
}

/** Values of another JSON type than the schema admits (a number where a string is expected, an object for an array…). */
export function wrongTypedValues(doc: OpenApiDocument, schema: Schema, max = 3): unknown[] {
  const types = typesOf(doc, schema);
  if (types.length === 0) return [];
  const admits = (t: string) => types.includes(t) || (t === "integer" && types.includes("number"));
  const candidates: [string, unknown][] = [];
  // The "sibling" of the expected type first (a number for a string, an object for an array…), then null, then a boolean.
  if (types.includes("string")) candidates.push(["number", 42]);
  if (types.includes("number") || types.includes("integer")) candidates.push(["string", "42"]);
  if (types.includes("array")) candidates.push(["object", { "0": "x" }]);
  if (types.includes("object")) candidates.push(["array", []]);
  if (types.includes("boolean")) candidates.push(["string", "true"]);
  candidates.push(["null", null], ["boolean", true], ["string", "text"], ["object", {}]);
  const picked: unknown[] = [];
  const seen = new Set<string>();
  for (const [t, v] of candidates) {
    if (admits(t) || seen.has(t)) continue;
    seen.add(t);
    picked.push(v);
    if (picked.length === max) break;
  }
  return picked;
}

export const E164_PATTERN_HINT = "\\+[1-9]";
/** A field holding digits (by its pattern or name); an id of a phone number (`vapi_phone_number_id`) is not one. */
export const isPhoneField = (field: Field) =>
  (field.resolved.pattern ?? "").includes(E164_PATTERN_HINT) ||
  (!/_id$/.test(field.name) && /(^|_)phone(_|$)|^phone_numbers$|^number$/.test(field.name));
export const isAreaCodeField = (field: Field) => (field.resolved.pattern ?? "").includes("[2-9]\\d{2}") || /area_code/.test(field.name);
/** A string field with no format of its own: names, descriptions, free text. */
export const isFreeText = (doc: OpenApiDocument, field: Field) => {
  const r = field.resolved;
  return typesOf(doc, r).includes("string") && !r.pattern && !r.enum && !r.format && r.const === undefined;
};

// ---------------------------------------------------------------------------------------------------------------
// The record, for "nothing changed" checks.

/** Every table of the D1 record (migrations bookkeeping aside). */
export async function tableNames(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  return results.map((r) => r.name);
}

/** Every row of every table, as JSON text per table: equal snapshots mean D1 did not change at all. */
export async function dbSnapshot(): Promise<Record<string, string>> {
  const names = await tableNames();
  const results = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)));
  return Object.fromEntries(names.map((name, i) => [name, JSON.stringify(results[i]!.results)]));
}

/** The rows of every table that mention any of these identifiers, byte for byte. */
export async function rowsMentioning(identifiers: readonly string[]): Promise<Record<string, string[]>> {
  const names = await tableNames();
  const results = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)));
  const out: Record<string, string[]> = {};
  names.forEach((name, i) => {
    const rows = (results[i]!.results as Record<string, unknown>[])
      .map((row) => JSON.stringify(row))
      .filter((text) => identifiers.some((id) => text.includes(id)));
    if (rows.length) out[name] = rows;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The one error shape.

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Asserts `{error: {code, message, details?}}` (JSON, nothing else at the top) and returns it. */
export function expectErrorShape(response: Response, text: string, context: string): ErrorBody["error"] {
  expect(response.headers.get("Content-Type") ?? "", `${context}: content type of a ${response.status}`).toMatch(/^application\/json/);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${context}: a ${response.status} whose body is not JSON: ${text.slice(0, 200)}`);
  }
  expect(body !== null && typeof body === "object" && !Array.isArray(body), `${context}: ${text.slice(0, 200)}`).toBe(true);
  expect(Object.keys(body as object), `${context}: ${text.slice(0, 200)}`).toEqual(["error"]);
  const error = (body as ErrorBody).error;
  expect(error !== null && typeof error === "object", context).toBe(true);
  for (const key of Object.keys(error)) expect(["code", "message", "details"], `${context}: unexpected key in error`).toContain(key);
  expect(error.code, `${context}: code`).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof error.message, `${context}: message`).toBe("string");
  expect(error.message.length, `${context}: message`).toBeGreaterThan(0);
  return error;
}

/** The validation issues of a 400 `invalid_request`, as `path` strings. */
export const detailPaths = (error: ErrorBody["error"]) =>
  Array.isArray(error.details) ? (error.details as { path?: unknown }[]).map((d) => String(d.path)) : [];

/** A concrete path for a template: `{name}` replaced by `values[name]`. */
export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(value);
  });
}
