import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, errorResponse, jsonBody, jsonResponse, wholeNumber } from "../../platform/openapi";
import { rateLimit } from "../../platform/rate-limit";
import { createRouter } from "../../platform/router";
import { platformAdmin, security, tags } from "../admin/access";
import { businessDataSchema, text } from "../assistants/business-data";
import { readVapiAccount } from "../numbers/account";
import { vapiIdSchema } from "../webhooks/call-events";
import { importVapiAccount } from "./import";

const orgId = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, "must be an organization id (printable, no spaces)")
  .openapi({ example: "org_123" });

const importBodySchema = z
  .strictObject({
    assistants: z
      .array(
        z.strictObject({
          vapi_assistant_id: vapiIdSchema,
          org_id: orgId,
          business_data: businessDataSchema
            .optional()
            .openapi({ description: "Defaults to `{business_name}` from the Vapi assistant's name" }),
          name: text(80).optional().openapi({ description: "Defaults to the Vapi assistant's name" }),
        }),
      )
      .max(500)
      .default([])
      .openapi({ description: "Vapi assistants to adopt, each for the organization that owns it, with the number assigned to it" }),
    numbers: z
      .array(z.strictObject({ vapi_phone_number_id: vapiIdSchema, org_id: orgId }))
      .max(1000)
      .default([])
      .openapi({ description: "Unassigned numbers that join an organization's pool instead of the shared one" }),
  })
  .superRefine((body, ctx) => {
    const repeated = (ids: string[], path: string) =>
      ids.forEach((id, i) => {
        if (ids.indexOf(id) !== i) ctx.addIssue({ code: "custom", path: [path, i], message: `${id} is named twice` });
      });
    repeated(
      body.assistants.map((a) => a.vapi_assistant_id),
      "assistants",
    );
    repeated(
      body.numbers.map((n) => n.vapi_phone_number_id),
      "numbers",
    );
  })
  .openapi("VapiImportInput", {
    example: { assistants: [{ vapi_assistant_id: "6a8c2e4f-1b3d-4f5a-9c7e-2d4b6f8a0c1e", org_id: "org_123" }], numbers: [] },
  });

const outcome = z.enum(["would_adopt", "adopted", "not_adopted", "failed", "deferred", "unchanged"]);
const summarySchema = z
  .object({
    numbers_listed: z.number().int(),
    assistants_listed: z.number().int(),
    numbers_to_adopt: z.number().int(),
    assistants_to_adopt: z.number().int(),
    numbers_adopted: z.number().int(),
    assistants_adopted: z.number().int(),
    left_alone: z.number().int(),
    already_managed: z.number().int(),
    failed: z.number().int(),
    remaining: z.number().int().openapi({ description: "Planned but not done (failed, deferred, changed meanwhile): run it again" }),
  })
  .openapi("VapiImportSummary");

export const importReportSchema = z
  .object({
    dry_run: z.boolean(),
    summary: summarySchema,
    free_numbers: z.object({
      limit: z.number().int(),
      held_by_switchboard: z.number().int(),
      held_outside: z.number().int(),
      room: z.number().int(),
    }),
    numbers: z.array(
      z.object({
        vapi_phone_number_id: z.string(),
        number: z.string().nullable(),
        provider: z.string(),
        vapi_status: z.string().nullable(),
        vapi_assistant_id: z.string().nullable(),
        action: z.enum(["join_pool", "join_pool_activating", "with_assistant", "leave", "managed"]),
        org_id: z.string().nullable(),
        reason: z.string(),
        outcome,
        phone_number_id: z.string().nullable(),
        error: z.string().optional(),
      }),
    ),
    assistants: z.array(
      z.object({
        vapi_assistant_id: z.string(),
        name: z.string().nullable(),
        action: z.enum(["adopt", "leave", "managed"]),
        org_id: z.string().nullable(),
        vapi_phone_number_id: z.string().nullable(),
        reason: z.string(),
        outcome,
        assistant_id: z.string().nullable(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("VapiImportReport");

const runImport = createRoute({
  method: "post",
  path: "/api/admin/vapi/import",
  tags,
  security,
  middleware: [platformAdmin, rateLimit("vapi_import")] as const,
  summary: "Take over the Vapi account as it is: adopt numbers and assistants made before Switchboard (a dry run by default)",
  description:
    "Lists every Vapi number and assistant and answers what would be done with each, and why. With `dry_run=false`: unassigned numbers " +
    "join the shared pool (or the organization's named in `numbers`; an organization's listed Twilio number joins its pool), activating " +
    "ones are tracked, and the assistants named in `assistants` are adopted with the number assigned to them. The only change in Vapi is " +
    "each adopted number's `server` (pointed at Switchboard). At most `max_changes` adoptions a call: run again while `summary.remaining` > 0.",
  request: {
    query: z.object({
      dry_run: z.enum(["true", "false"]).default("true").openapi({ description: "`true` (default) only reports what would be done" }),
      max_changes: wholeNumber(1, 300).default(100).openapi({ description: "Adoptions this call makes at most (1 to 300)" }),
    }),
    body: jsonBody(importBodySchema),
  },
  responses: {
    200: jsonResponse(importReportSchema, "What was (or would be) done with each Vapi number and assistant"),
    400: errorResponse("Invalid body or query"),
    ...authErrors,
    422: errorResponse("`import_mapping_invalid`: the body names an assistant or number the account lacks, or one Switchboard made"),
    502: errorResponse("Vapi could not be listed; nothing was changed"),
  },
});

const lastImport = createRoute({
  method: "get",
  path: "/api/admin/vapi/import",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "The last import's report (its first 100 numbers and assistants that are not already managed)",
  responses: {
    200: jsonResponse(
      z.object({ at: z.string().nullable(), report: importReportSchema.nullable() }),
      "The last report, or nulls before the first import",
    ),
    ...authErrors,
  },
});

export const vapiImportRouter = createRouter()
  .openapi(runImport, async (c) => {
    const { dry_run, max_changes } = c.req.valid("query");
    const body = c.req.valid("json");
    const report = await importVapiAccount(c.var.services, {
      assistants: body.assistants,
      numbers: body.numbers,
      dryRun: dry_run === "true",
      maxChanges: max_changes,
    });
    return c.json(report, 200);
  })
  .openapi(lastImport, async (c) => {
    const [account] = await readVapiAccount(c.var.db);
    const report = (account?.lastImport ?? null) as z.infer<typeof importReportSchema> | null;
    return c.json({ at: account?.lastImportAt ?? null, report }, 200);
  });
