import { and, asc, eq, gt } from "drizzle-orm";
import { assistants, phoneNumbers } from "../../db/schema";
import { UpstreamError } from "../../integrations/http";
import { vapiConfig, type AssistantDeps } from "./assistants";
import { webhookServer } from "../numbers/acquisition";

interface ResyncResult {
  updated: number;
  failed: { assistant_id: string; error: string }[];
  /** Pass back as `cursor` for the next page; null when every assistant was done. */
  next_cursor: string | null;
}

/**
 * Pushes the configuration Switchboard would give each assistant today (prompt, tools, `server` with the current
 * PUBLIC_URL and VAPI_WEBHOOK_SECRET) to Vapi, and its number's `server` too: what to run after rotating the
 * webhook secret or moving the service. A page at a time, in id order, so a Worker's subrequest budget holds.
 */
export async function resyncAssistants(
  deps: AssistantDeps,
  options: { orgId?: string; limit: number; cursor?: string },
): Promise<ResyncResult> {
  const rows = await deps.db
    .select({ assistant: assistants, vapiNumberId: phoneNumbers.vapiPhoneNumberId })
    .from(assistants)
    .leftJoin(phoneNumbers, eq(phoneNumbers.assistantId, assistants.id))
    .where(
      and(
        eq(assistants.state, "active"),
        options.orgId ? eq(assistants.orgId, options.orgId) : undefined,
        options.cursor ? gt(assistants.id, options.cursor) : undefined,
      ),
    )
    .orderBy(asc(assistants.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const result: ResyncResult = {
    updated: 0,
    failed: [],
    next_cursor: rows.length > options.limit ? page[page.length - 1]!.assistant.id : null,
  };
  for (const { assistant, vapiNumberId } of page) {
    if (!assistant.vapiAssistantId) continue;
    try {
      // An adopted assistant keeps the configuration it came with: only its number is pointed at Switchboard again.
      if (assistant.origin !== "adopted") {
        const { metadata: _metadata, ...config } = vapiConfig(deps, assistant);
        await deps.vapi.updateAssistant(assistant.vapiAssistantId, config);
      }
      if (vapiNumberId) await deps.vapi.updatePhoneNumber(vapiNumberId, { server: webhookServer(deps) });
      result.updated++;
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      result.failed.push({ assistant_id: assistant.id, error: error.message });
      deps.log.warn("assistant_resync_failed", { org_id: assistant.orgId, assistant_id: assistant.id, error: error.message });
    }
  }
  deps.log.info("assistants_resynced", { org_id: options.orgId ?? null, updated: result.updated, failed: result.failed.length });
  return result;
}
