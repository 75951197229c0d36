import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../platform/router";
import { getEmergencyContact, setEmergencyContact } from "./emergency-contact";
import { e164, text } from "./business-data";
import { orgOf } from "../../platform/context";
import { requireRole } from "../../platform/middleware";
import { rateLimit } from "../../platform/rate-limit";
import { sha256Hex, uuidFrom } from "../../platform/crypto";
import {
  ASSISTANT_PAGE_MAX,
  assignPhoneNumber,
  createAssistant,
  deleteAssistant,
  getAssistant,
  listAssistants,
  updateAssistant,
  type AssistantDeps,
} from "./assistants";
import { decodeAssistantCursor } from "./list-cursor";
import { runIdempotent } from "../../platform/idempotency";
import { authErrors, bearer, errorResponse, idParam, jsonBody, jsonResponse } from "../../platform/openapi";
import {
  assignPhoneSchema,
  assistantListQuerySchema,
  assistantListSchema,
  assistantSchema,
  createAssistantSchema,
  phoneSchema,
  updateAssistantSchema,
} from "./schemas";
import { streamSSE } from "hono/streaming";
import { ApiError } from "../../platform/errors";
import type { AssistantView } from "./view";

const tags = ["Assistants"];
const security = bearer("member");
const member = requireRole("member");
const upstreamErrors = {
  502: errorResponse("Vapi failed or did not answer; nothing was kept"),
  503: errorResponse("Vapi is rate limiting or storage is unavailable; retry after `Retry-After`"),
};

const create = createRoute({
  method: "post",
  path: "/api/assistants",
  tags,
  security,
  middleware: [member, rateLimit("assistant_create")] as const,
  summary: "Create an assistant and give it a phone number",
  description: "Send `Idempotency-Key` to make retries safe: the same key and body answer the first response again.",
  request: {
    headers: z.object({ "idempotency-key": z.string().optional().openapi({ description: "Any unique string, e.g. a UUID" }) }),
    body: jsonBody(createAssistantSchema),
  },
  responses: {
    201: jsonResponse(assistantSchema, "The new assistant"),
    400: errorResponse("Invalid body (`details` lists each field)"),
    ...authErrors,
    409: errorResponse("Same Idempotency-Key still in progress; `pool_exhausted` or `area_code_unavailable` when no number can be had"),
    429: errorResponse("Too many creates for your organization; `Retry-After` says when to retry"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
    422: errorResponse("Idempotency-Key reused with another body"),
    ...upstreamErrors,
  },
});

const listRoute = <P extends string>(path: P, hide = false) =>
  createRoute({
    method: "get",
    path,
    tags,
    security,
    hide,
    middleware: [member] as const,
    summary: "List the organization's assistants",
    description: `Newest first, ${ASSISTANT_PAGE_MAX} a page unless \`limit\` says fewer. Call again with \`cursor\` = \`next_cursor\` until it is null.`,
    request: { query: assistantListQuerySchema },
    responses: {
      200: jsonResponse(assistantListSchema, "Newest first, each with its number"),
      400: errorResponse("A bad limit or cursor"),
      ...authErrors,
    },
  });

async function listPage(deps: AssistantDeps, orgId: string, query: { limit: number; cursor?: string }) {
  const after = query.cursor === undefined ? undefined : decodeAssistantCursor(query.cursor);
  if (after === null) {
    throw new ApiError(400, "invalid_request", "The request is not valid: cursor: is not a cursor this API gave out (use next_cursor).", [
      { path: "cursor", code: "invalid_cursor", message: "is not a cursor this API gave out" },
    ]);
  }
  return listAssistants(deps, orgId, { limit: query.limit, after });
}

const getOne = createRoute({
  method: "get",
  path: "/api/assistants/{id}",
  tags,
  security,
  middleware: [member] as const,
  summary: "Read an assistant",
  request: { params: idParam("assistant") },
  responses: {
    200: jsonResponse(assistantSchema, "The assistant"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
  },
});

const patch = createRoute({
  method: "patch",
  path: "/api/assistants/{id}",
  tags,
  security,
  middleware: [member] as const,
  summary: "Rename an assistant or update its business data and languages",
  request: { params: idParam("assistant"), body: jsonBody(updateAssistantSchema) },
  responses: {
    200: jsonResponse(assistantSchema, "The updated assistant"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    ...upstreamErrors,
  },
});

const remove = createRoute({
  method: "delete",
  path: "/api/assistants/{id}",
  tags,
  security,
  middleware: [member] as const,
  summary: "Delete an assistant; its number goes back to the pool",
  request: { params: idParam("assistant") },
  responses: {
    204: { description: "Deleted" },
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    ...upstreamErrors,
  },
});

const assignPhone = createRoute({
  method: "post",
  path: "/api/assistants/{id}/phone",
  tags,
  security,
  middleware: [member, rateLimit("number_assign")] as const,
  summary: "Give an assistant that has none a phone number (pool, then a new free number, then your own)",
  request: { params: idParam("assistant"), body: { ...jsonBody(assignPhoneSchema), required: false } },
  responses: {
    200: jsonResponse(assistantSchema, "The assistant with its number"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    409: errorResponse(
      "`already_has_number`, or `pool_exhausted` or `area_code_unavailable` (`details.area_code`) when no number can be had",
    ),
    ...upstreamErrors,
  },
});

const phone = createRoute({
  method: "get",
  path: "/api/assistants/{id}/phone",
  tags,
  security,
  middleware: [member] as const,
  summary: "The assistant's number and provisioning progress",
  request: { params: idParam("assistant") },
  responses: {
    200: jsonResponse(phoneSchema, "Number, status and progress"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
  },
});

const phoneEvents = createRoute({
  method: "get",
  path: "/api/assistants/{id}/phone/events",
  tags,
  security,
  middleware: [member] as const,
  summary: "Provisioning progress as server-sent events",
  description:
    "Sends a `phone` event (the same JSON as GET …/phone) now and whenever it changes, and closes once the number is active, stuck or failed. For a live progress bar without polling.",
  request: { params: idParam("assistant") },
  responses: {
    200: { description: "An event stream of `phone` events", content: { "text/event-stream": { schema: z.string() } } },
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
  },
});

/** How often the event stream looks for progress (trackers and webhooks write it to D1). */
const PHONE_EVENTS_POLL_MS = 1000;
/** A stream never outlives the longest provisioning (10 minutes by default) by much. */
const PHONE_EVENTS_MAX_MS = 15 * 60_000;

const toPhone = (view: AssistantView) => ({
  assistant_id: view.id,
  vapi_phone_number: view.vapi_phone_number,
  phone_provider: view.phone_provider,
  phone_status: view.phone_status,
  phone_number_id: view.phone_number_id,
  phone_source: view.phone_source,
  was_reused: view.was_reused,
  provisioning: view.provisioning,
});

const emergencyContactFields = { name: text(80).openapi({ example: "Dana (on-call technician)" }), phone: e164 };
const emergencyContactBody = z.strictObject(emergencyContactFields).openapi("EmergencyContact");
// Its own schema: `.nullable()` on the registered body would document the request body as nullable too.
const emergencyContactView = z.object({ emergency_contact: z.object(emergencyContactFields).nullable() }).openapi("EmergencyContactView");

const putEmergency = createRoute({
  method: "put",
  path: "/api/assistants/{id}/emergency-contact",
  tags,
  security,
  middleware: [member] as const,
  summary: "Set who urgent calls are transferred to",
  description:
    "The Vapi assistant gets a transferCall tool to this number, described so the model uses it for the business's emergencies or when a caller asks for a person.",
  request: { params: idParam("assistant"), body: jsonBody(emergencyContactBody) },
  responses: {
    200: jsonResponse(emergencyContactView, "The contact now in effect"),
    400: errorResponse("Invalid name or phone (E.164)"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    ...upstreamErrors,
  },
});

const getEmergency = createRoute({
  method: "get",
  path: "/api/assistants/{id}/emergency-contact",
  tags,
  security,
  middleware: [member] as const,
  summary: "Who urgent calls are transferred to (null when nobody)",
  request: { params: idParam("assistant") },
  responses: {
    200: jsonResponse(emergencyContactView, "The contact"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
  },
});

const deleteEmergency = createRoute({
  method: "delete",
  path: "/api/assistants/{id}/emergency-contact",
  tags,
  security,
  middleware: [member] as const,
  summary: "Stop transferring urgent calls",
  request: { params: idParam("assistant") },
  responses: {
    204: { description: "Removed" },
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    ...upstreamErrors,
  },
});

export const assistantsRouter = createRouter()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const orgId = orgOf(c);
    const key = c.req.valid("header")["idempotency-key"];
    if (!key) return c.json(await createAssistant(c.var.services, orgId, body), 201);
    const scope = `${orgId}:assistants.create`;
    // The assistant's id follows from the key, so even a run whose response was never stored cannot make a second one.
    const id = uuidFrom(await sha256Hex(`${scope}:${key}`));
    const run = async () => ({ status: 201, body: await createAssistant(c.var.services, orgId, body, { id }) });
    const result = await runIdempotent(c.var.db, scope, key, await sha256Hex(JSON.stringify(body)), run);
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body as z.infer<typeof assistantSchema>, 201);
  })
  .openapi(listRoute("/api/assistants"), async (c) => c.json(await listPage(c.var.services, orgOf(c), c.req.valid("query")), 200))
  .openapi(listRoute("/api/assistants/list", true), async (c) =>
    c.json(await listPage(c.var.services, orgOf(c), c.req.valid("query")), 200),
  )
  .openapi(getOne, async (c) => c.json(await getAssistant(c.var.services, orgOf(c), c.req.valid("param").id), 200))
  .openapi(patch, async (c) => c.json(await updateAssistant(c.var.services, orgOf(c), c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(assignPhone, async (c) => {
    const body = c.req.valid("json") ?? {};
    return c.json(await assignPhoneNumber(c.var.services, orgOf(c), c.req.valid("param").id, body.area_code ?? null), 200);
  })
  .openapi(phone, async (c) => c.json(toPhone(await getAssistant(c.var.services, orgOf(c), c.req.valid("param").id)), 200))
  .openapi(phoneEvents, async (c) => {
    const deps = c.var.services;
    const orgId = orgOf(c);
    const id = c.req.valid("param").id;
    let current = toPhone(await getAssistant(deps, orgId, id));
    return streamSSE(c, async (stream) => {
      const until = Date.now() + PHONE_EVENTS_MAX_MS;
      let sent = "";
      for (let seq = 0; !stream.aborted && Date.now() < until; ) {
        const payload = JSON.stringify(current);
        if (payload !== sent) {
          await stream.writeSSE({ event: "phone", data: payload, id: String(++seq) });
          sent = payload;
        }
        if (current.phone_status !== "provisioning") break;
        await stream.sleep(PHONE_EVENTS_POLL_MS);
        try {
          current = toPhone(await getAssistant(deps, orgId, id));
        } catch (error) {
          const body =
            error instanceof ApiError ? error.toBody() : { error: { code: "internal_error", message: "Progress could not be read." } };
          await stream.writeSSE({ event: "error", data: JSON.stringify(body) });
          break;
        }
      }
    });
  })
  .openapi(putEmergency, async (c) => {
    const contact = await setEmergencyContact(c.var.services, orgOf(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ emergency_contact: contact }, 200);
  })
  .openapi(getEmergency, async (c) =>
    c.json({ emergency_contact: await getEmergencyContact(c.var.services, orgOf(c), c.req.valid("param").id) }, 200),
  )
  .openapi(deleteEmergency, async (c) => {
    await setEmergencyContact(c.var.services, orgOf(c), c.req.valid("param").id, null);
    return c.body(null, 204);
  })
  .openapi(remove, async (c) => {
    await deleteAssistant(c.var.services, orgOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
