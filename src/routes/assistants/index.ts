import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/router";
import { orgOf, publicUrl, type AppContext } from "../../lib/context";
import { requireRole } from "../../lib/middleware";
import { sha256Hex } from "../../lib/crypto";
import { assignPhoneNumber, createAssistant, deleteAssistant, getAssistant, listAssistants, updateAssistant, type AssistantDeps } from "../../services/assistants";
import { runIdempotent } from "../../services/idempotency";
import { authErrors, errorResponse, idParam, jsonBody, jsonResponse } from "../schemas";
import { assignPhoneSchema, assistantListSchema, assistantSchema, createAssistantSchema, updateAssistantSchema } from "./schemas";

const tags = ["Assistants"];
const security = [{ Bearer: [] }];
const member = requireRole("member");
const upstreamErrors = {
  502: errorResponse("Vapi failed or did not answer; nothing was kept"),
  503: errorResponse("Vapi is rate limiting or storage is unavailable; retry after `Retry-After`"),
};

export function assistantDeps(c: AppContext): AssistantDeps {
  return {
    db: c.var.db,
    vapi: c.var.upstreams.vapi,
    settings: c.var.settings,
    log: c.var.log,
    webhookUrl: `${publicUrl(c)}/webhooks/vapi`,
  };
}

const create = createRoute({
  method: "post",
  path: "/api/assistants",
  tags,
  security,
  middleware: [member] as const,
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
    409: errorResponse("Same Idempotency-Key still in progress"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
    422: errorResponse("Idempotency-Key reused with another body"),
    ...upstreamErrors,
  },
});

const listRoute = (path: string, hide = false) =>
  createRoute({
    method: "get",
    path,
    tags,
    security,
    hide,
    middleware: [member] as const,
    summary: "List the organization's assistants",
    responses: { 200: jsonResponse(assistantListSchema, "Newest first, each with its number"), ...authErrors },
  });

const getOne = createRoute({
  method: "get",
  path: "/api/assistants/{id}",
  tags,
  security,
  middleware: [member] as const,
  summary: "Read an assistant",
  request: { params: idParam("assistant") },
  responses: { 200: jsonResponse(assistantSchema, "The assistant"), ...authErrors, 404: errorResponse("No such assistant in your organization") },
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
  responses: { 204: { description: "Deleted" }, ...authErrors, 404: errorResponse("No such assistant in your organization"), ...upstreamErrors },
});

const assignPhone = createRoute({
  method: "post",
  path: "/api/assistants/{id}/phone",
  tags,
  security,
  middleware: [member] as const,
  summary: "Give an assistant that has none a phone number (pool, then a new free number, then your own)",
  request: { params: idParam("assistant"), body: { ...jsonBody(assignPhoneSchema), required: false } },
  responses: {
    200: jsonResponse(assistantSchema, "The assistant with its number"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    404: errorResponse("No such assistant in your organization"),
    409: errorResponse("`already_has_number`, or `pool_exhausted` when no number can be had"),
    ...upstreamErrors,
  },
});

export const assistantsRouter = createRouter()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const orgId = orgOf(c);
    const key = c.req.valid("header")["idempotency-key"];
    const run = async () => ({ status: 201, body: await createAssistant(assistantDeps(c), orgId, body) });
    if (!key) return c.json((await run()).body, 201);
    const result = await runIdempotent(c.var.db, `${orgId}:assistants.create`, key, await sha256Hex(JSON.stringify(body)), run);
    if (result.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result.body as z.infer<typeof assistantSchema>, 201);
  })
  .openapi(listRoute("/api/assistants"), async (c) => c.json({ assistants: await listAssistants(assistantDeps(c), orgOf(c)) }, 200))
  .openapi(listRoute("/api/assistants/list", true), async (c) => c.json({ assistants: await listAssistants(assistantDeps(c), orgOf(c)) }, 200))
  .openapi(getOne, async (c) => c.json(await getAssistant(assistantDeps(c), orgOf(c), c.req.valid("param").id), 200))
  .openapi(patch, async (c) => c.json(await updateAssistant(assistantDeps(c), orgOf(c), c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(assignPhone, async (c) => {
    const body = c.req.valid("json") ?? {};
    return c.json(await assignPhoneNumber(assistantDeps(c), orgOf(c), c.req.valid("param").id, body.area_code ?? null), 200);
  })
  .openapi(remove, async (c) => {
    await deleteAssistant(assistantDeps(c), orgOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
