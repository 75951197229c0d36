import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { call, json, sampleBusiness, token } from "./api";
import { TEST_SETTINGS } from "../settings";
import type { TrackerState, TrackingRequest } from "../../src/features/provisioning/tracker";

/** A tracker's stub with its RPC methods typed plainly (the generated RPC types are too deep for tsc here). */
export interface TrackerControl extends DurableObjectStub {
  start(request: TrackingRequest): Promise<{ state: TrackerState; rearmed: boolean }>;
  stop(reason?: string): Promise<void>;
  state(): Promise<TrackerState | null>;
}

export const tracker = (key: string) => env.PROVISIONING_TRACKER.getByName(key) as unknown as TrackerControl;

export async function trackerAlarm(key: string): Promise<number | null> {
  return runInDurableObject(tracker(key), (_instance, state) => state.storage.getAlarm());
}

/** An assistant whose number is new and provisioning (the pool is empty). */
export async function createProvisioning(org = "org-a") {
  const res = await call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } });
  const body = await json(res);
  if (res.status !== 201 || body.phone_status !== "provisioning")
    throw new Error(`expected a provisioning assistant: ${JSON.stringify(body)}`);
  const row = await env.DB.prepare("SELECT vapi_phone_number_id, tracker_key FROM phone_numbers WHERE id = ?")
    .bind(body.phone_number_id)
    .first<{
      vapi_phone_number_id: string;
      tracker_key: string;
    }>();
  return { assistant: body, numberId: body.phone_number_id as string, vapiId: row!.vapi_phone_number_id, trackerKey: row!.tracker_key };
}

export async function numberRow(id: string) {
  return env.DB.prepare("SELECT * FROM phone_numbers WHERE id = ?").bind(id).first<Record<string, any>>();
}

export function webhook(message: Record<string, unknown>, secret: string = TEST_SETTINGS.VAPI_WEBHOOK_SECRET) {
  return call("POST", "/webhooks/vapi", { token: null, headers: { "X-Vapi-Secret": secret }, body: { message } });
}
