#!/usr/bin/env node
// Regenerates test/data/vapi-server-messages.json from Vapi's OpenAPI document: the shallow shapes of the server
// messages Switchboard handles (required fields, property names, enums), which the generated webhook suite builds
// messages from. Tests read the copy in the repo, never the document itself.
//   node scripts/vapi-server-messages.mjs ../shared/specs/vapi-openapi.json
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";

const source = process.argv[2] ?? "../shared/specs/vapi-openapi.json";
const schemas = JSON.parse(readFileSync(source, "utf8")).components.schemas;

const MESSAGES = {
  "status-update": "ServerMessageStatusUpdate",
  "end-of-call-report": "ServerMessageEndOfCallReport",
  "tool-calls": "ServerMessageToolCalls",
  "transfer-destination-request": "ServerMessageTransferDestinationRequest",
  "assistant-request": "ServerMessageAssistantRequest",
};

/** The enums the suite draws from (others, such as every cost's kind, only make the copy long). */
const ENUMS = new Set(["type", "status"]);
const enumOf = (property) => property?.enum ?? null;
const shape = (name) => {
  const schema = schemas[name];
  if (!schema) throw new Error(`${name} is not in ${source}`);
  return {
    schema: name,
    required: schema.required ?? [],
    properties: Object.keys(schema.properties),
    enums: Object.fromEntries(
      Object.entries(schema.properties)
        .filter(([key, property]) => ENUMS.has(key) && enumOf(property))
        .map(([key, property]) => [key, enumOf(property)]),
    ),
  };
};

const data = {
  source: "Vapi OpenAPI document (components.schemas), shallow shapes only",
  messages: Object.fromEntries(Object.entries(MESSAGES).map(([type, name]) => [type, shape(name)])),
  call: shape("Call"),
  toolCall: shape("ToolCall"),
  toolCallFunction: shape("ToolCallFunction"),
  /** `endedReason` of a call and of its end-of-call report (one list, kept once). */
  endedReasons: enumOf(schemas.ServerMessageEndOfCallReport.properties.endedReason),
};
mkdirSync("test/data", { recursive: true });
writeFileSync("test/data/vapi-server-messages.json", `${JSON.stringify(data, null, 2)}\n`);
console.log(`wrote test/data/vapi-server-messages.json: ${Object.keys(data.messages).length} message types`);
