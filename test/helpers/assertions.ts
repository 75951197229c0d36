import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, json, sampleBusiness, sandbox, tableCounts, token, type CallOptions } from "./api";

/** A fresh organisation id, so tests sharing one file's D1 never see each other's rows. */
export const newOrg = () => `org-${crypto.randomUUID()}`;

/** Calls the worker as a member of `org`. */
export function asOrg(org: string, role = "member") {
  return async (method: string, path: string, options: Omit<CallOptions, "token"> = {}) =>
    call(method, path, { ...options, token: await token({ org, role }) });
}

/**
 * Asserts the one error shape `{error: {code, message, details?}}` with this status and code; returns the error.
 */
export async function expectError(response: Response, status: number, code: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("Content-Type") ?? "").toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string; details?: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  for (const key of Object.keys(body.error)) expect(["code", "message", "details"]).toContain(key);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

/** What a request could have changed: every table's row count, Vapi calls received, Vapi assistants held. */
export interface SideEffects {
  counts: Record<string, number>;
  vapiCalls: number;
  vapiAssistants: string[];
}

export async function sideEffects(): Promise<SideEffects> {
  const stub = sandbox();
  const [counts, requests, assistants] = await Promise.all([tableCounts(), stub.requests("vapi"), stub.vapiAssistants()]);
  return { counts, vapiCalls: requests.length, vapiAssistants: assistants.map((a) => String(a.id)).sort() };
}

/** Proves a refused request wrote nothing to D1 and never reached Vapi. */
export async function expectNoSideEffects(before: SideEffects): Promise<void> {
  const after = await sideEffects();
  expect(after.counts, "D1 row counts changed").toEqual(before.counts);
  expect(after.vapiCalls, "the sandbox received a Vapi call").toBe(before.vapiCalls);
  expect(after.vapiAssistants, "the sandbox's Vapi assistants changed").toEqual(before.vapiAssistants);
}

/** The raw D1 row of an assistant (any state), or null. */
export async function assistantRow(id: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM assistants WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

/** Every D1 row of an organisation's assistants, in any state. */
export async function assistantRowsOf(org: string): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare("SELECT * FROM assistants WHERE org_id = ? ORDER BY id")
    .bind(org)
    .all<Record<string, unknown>>();
  return results;
}

/** Creates an assistant for `org` through the API and returns the response body. */
export async function createAssistantFor(org: string, body: Record<string, unknown> = { business_data: sampleBusiness }) {
  const response = await asOrg(org)("POST", "/api/assistants", { body });
  const created = await json(response);
  expect(response.status, JSON.stringify(created)).toBe(201);
  return created as Record<string, any>;
}

/** The Vapi requests the sandbox received after index `from` (a length taken earlier). */
export async function vapiRequestsSince(from: number) {
  return (await sandbox().requests("vapi")).slice(from);
}
