#!/usr/bin/env node
// Extracts a trimmed subset of the official Vapi OpenAPI document into
// dev/sandbox/vapi-schemas.json, which the sandbox's request-body validator
// (dev/sandbox/json-schema.ts) reads. Run once when the spec changes and
// commit the output; tests never read /work/shared at run time.
//
//   node scripts/extract-vapi-schemas.mjs [path/to/vapi-openapi.json] [source-label]
//
// Plain Node ESM, no dependencies.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_SPEC = resolve(ROOT, "../shared/specs/vapi-openapi.json");
const OUTPUT = resolve(ROOT, "dev/sandbox/vapi-schemas.json");
const DEFAULT_SOURCE = "VapiAI/docs fern/apis/api/openapi.json commit 0494c2f3cd88c4fd04b8e98e9a247919270741ed";

/** Request bodies the sandbox validates. */
const ROOTS = [
  "CreateAssistantDTO",
  "UpdateAssistantDTO",
  "CreateVapiPhoneNumberDTO",
  "UpdateVapiPhoneNumberDTO",
  "CreateTwilioPhoneNumberDTO",
  "UpdateTwilioPhoneNumberDTO",
  // Not a request body: Switchboard's answer to an `assistant-request`, checked by the routing tests.
  "ServerMessageResponseAssistantRequest",
];

/** Nested schemas we resolve; a $ref to anything else becomes {} (accept anything). */
const RESOLVE = [
  "Server",
  "OpenAIModel",
  "OpenAIMessage",
  "DeepgramTranscriber",
  "CreateFunctionToolDTO",
  "OpenAIFunction",
  "OpenAIFunctionParameters",
  "CreateTransferCallToolDTO",
  "TransferDestinationNumber",
  "TransferPlan",
  "TransferDestinationSip",
  "ToolMessageStart",
  "ToolMessageComplete",
  "ToolMessageFailed",
  "ToolMessageDelayed",
  "VapiVoice",
  "ElevenLabsVoice",
  "OpenAIVoice",
  "AzureVoice",
  "SipAuthentication",
  "TransferFallbackPlan",
];

const specPath = process.argv[2] ? resolve(process.cwd(), process.argv[2]) : DEFAULT_SPEC;
const source = process.argv[3] ?? DEFAULT_SOURCE;
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const all = spec?.components?.schemas;
if (!all || typeof all !== "object") {
  console.error(`no components.schemas in ${specPath}`);
  process.exit(1);
}

const missing = [...ROOTS, ...RESOLVE].filter((n) => !(n in all));
for (const n of ROOTS) {
  if (!(n in all)) {
    console.error(`root schema ${n} not found in ${specPath}`);
    process.exit(1);
  }
}
const allowed = new Set([...ROOTS, ...RESOLVE].filter((n) => n in all));

const REF_PREFIX = "#/components/schemas/";
const refName = (ref) => (typeof ref === "string" && ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : null);

/** Names reached while trimming; only these end up in the output. */
const reached = new Set();
const queue = [];
const notes = [];

function reach(name) {
  if (!reached.has(name)) {
    reached.add(name);
    queue.push(name);
  }
}

/** The full-spec schema behind a node (following one $ref level), for discriminator inference. */
function deref(node) {
  const n = node && refName(node.$ref);
  return n ? all[n] : node;
}

/**
 * The spec declares most polymorphic fields (model, voice, transcriber, tools,
 * transfer destinations, tool messages) as a plain oneOf with no discriminator,
 * although the API dispatches on `provider` / `type`. Infer it when every
 * variant is an object requiring a property whose single-value enums are
 * pairwise distinct, so the validator can pick the right variant instead of
 * letting the trimmed-away ({}) variants accept anything.
 */
function inferDiscriminator(variants) {
  for (const prop of ["provider", "type"]) {
    const seen = new Set();
    let ok = variants.length > 1;
    for (const v of variants) {
      const s = deref(v);
      const p = s?.properties?.[prop];
      if (s?.type !== "object" || !Array.isArray(s.required) || !s.required.includes(prop)) ok = false;
      else if (!p || !Array.isArray(p.enum) || p.enum.length !== 1 || seen.has(p.enum[0])) ok = false;
      else seen.add(p.enum[0]);
      if (!ok) break;
    }
    if (ok) return prop;
  }
  return null;
}

function trimRef(ref) {
  const n = refName(ref);
  if (n && allowed.has(n)) {
    reach(n);
    return { $ref: n };
  }
  return {};
}

function trim(node, where) {
  if (!node || typeof node !== "object") return {};
  if (typeof node.$ref === "string") return trimRef(node.$ref);

  const out = {};
  if (typeof node.type === "string") out.type = node.type;

  if (node.properties && typeof node.properties === "object") {
    out.properties = {};
    for (const [k, v] of Object.entries(node.properties)) out.properties[k] = trim(v, `${where}.${k}`);
  }
  if (Array.isArray(node.required) && node.required.length > 0) out.required = [...node.required];
  if (Array.isArray(node.enum)) out.enum = [...node.enum];
  for (const k of ["minLength", "maxLength", "minimum", "maximum"]) {
    if (typeof node[k] === "number") out[k] = node[k];
  }
  if (node.items) out.items = trim(node.items, `${where}[]`);

  for (const k of ["oneOf", "anyOf"]) {
    if (!Array.isArray(node[k])) continue;
    out[k] = node[k].map((v, i) => trim(v, `${where}|${i}`));
    const explicit = node.discriminator?.propertyName;
    const inferred = explicit ? null : inferDiscriminator(node[k]);
    if (explicit || inferred) out.discriminator = { propertyName: explicit ?? inferred };
    if (inferred) notes.push(`${where}: inferred discriminator "${inferred}" for ${k} of ${node[k].length}`);
  }

  if (node.nullable === true) out.nullable = true;

  if (Array.isArray(node.allOf)) {
    const parts = node.allOf.map((v, i) => trim(v, `${where}&${i}`));
    if (parts.length === 1 && Object.keys(out).length === 0) return parts[0]; // collapse single allOf
    out.allOf = parts;
  }

  // Quirks of the generated spec that would make a literal reading reject valid bodies.
  if (out.type === "array" && Array.isArray(out.enum)) {
    // e.g. DeepgramTranscriber.redaction: enum on the array itself means "each item".
    if (out.items && !out.items.enum && !out.items.$ref) out.items.enum = out.enum;
    delete out.enum;
    notes.push(`${where}: array-level enum moved to items`);
  }
  if (out.type === "object" && Array.isArray(out.enum) && !out.properties) {
    // e.g. TransferPlan.sipVerb: declared type object, enum of strings.
    if (out.enum.every((e) => typeof e === "string")) out.type = "string";
    else delete out.type;
    notes.push(`${where}: enum on type object, type corrected`);
  }
  if (Array.isArray(out.enum) && (out.oneOf || out.anyOf)) {
    // e.g. VapiVoice.version: sibling enum ["1","2","latest"] contradicts oneOf number [1,2].
    delete out.enum;
    notes.push(`${where}: sibling enum dropped in favour of oneOf`);
  }
  return out;
}

const schemas = {};
for (const n of ROOTS) reach(n);
while (queue.length > 0) {
  const n = queue.shift();
  schemas[n] = trim(all[n], n);
}

const ordered = {};
for (const n of Object.keys(schemas).sort()) ordered[n] = schemas[n];
const json = `${JSON.stringify({ source, schemas: ordered }, null, 2)}\n`;

mkdirSync(dirname(OUTPUT), { recursive: true });
writeFileSync(OUTPUT, json);

const unreached = [...allowed].filter((n) => !reached.has(n));
console.log(`wrote ${OUTPUT}: ${Object.keys(ordered).length} schemas, ${Buffer.byteLength(json)} bytes`);
if (missing.length > 0) console.log(`not in spec (skipped): ${missing.join(", ")}`);
if (unreached.length > 0) console.log(`whitelisted but not referenced from the roots: ${unreached.join(", ")}`);
for (const note of notes) console.log(`note: ${note}`);
