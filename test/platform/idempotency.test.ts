import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { json, sampleBusiness, sandbox } from "../helpers/api";
import { asOrg, assistantRowsOf, expectError, expectNoSideEffects, newOrg, sideEffects } from "../helpers/assertions";
import { resetState } from "../helpers/pool";

const body = { business_data: sampleBusiness, languages: ["en"] };
const withKey = (key: string, payload: unknown = body) => ({ body: payload, headers: { "Idempotency-Key": key } });

const storedKeys = async (org: string) =>
  (await env.DB.prepare("SELECT key, state FROM idempotency_keys WHERE key LIKE ?").bind(`${org}:%`).all<{ key: string; state: string }>())
    .results;

describe("Idempotency-Key on POST /api/assistants", () => {
  // Every create takes a free number: start each test under the limit.
  beforeEach(resetState);
  afterEach(async () => {
    await sandbox().clearFaults();
  });

  it("a create whose stored response was lost (key still `processing` after 5 minutes) is answered from its assistant, never made twice", async () => {
    const org = newOrg();
    const key = crypto.randomUUID();
    const first = await json(await asOrg(org)("POST", "/api/assistants", withKey(key)));
    // As if the final write of the response had failed: the key looks abandoned.
    await env.DB.prepare("UPDATE idempotency_keys SET state = 'processing', response_body = NULL, created_at = ? WHERE key LIKE ?")
      .bind(new Date(Date.now() - 10 * 60_000).toISOString(), `${org}:%`)
      .run();
    const vapiBefore = (await sandbox().vapiAssistants()).length;
    const again = await asOrg(org)("POST", "/api/assistants", withKey(key));
    expect(again.status).toBe(201);
    expect((await json(again)).id).toBe(first.id);
    expect((await sandbox().vapiAssistants()).length).toBe(vapiBefore);
    expect(await assistantRowsOf(org)).toHaveLength(1);
  });

  it("same key and body twice → the same response, marked replayed, one assistant in Vapi and D1", async () => {
    const org = newOrg();
    const key = crypto.randomUUID();
    const before = await sideEffects();

    const first = await asOrg(org)("POST", "/api/assistants", withKey(key));
    const firstBody = await json(first);
    expect(first.status, JSON.stringify(firstBody)).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();

    const second = await asOrg(org)("POST", "/api/assistants", withKey(key));
    expect(second.status).toBe(201);
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await json(second)).toEqual(firstBody);

    const after = await sideEffects();
    expect(after.vapiAssistants.length).toBe(before.vapiAssistants.length + 1);
    const posts = (await sandbox().requests("vapi")).slice(before.vapiCalls).filter((r) => r.method === "POST" && r.path === "/assistant");
    expect(posts).toHaveLength(1);
    expect(await assistantRowsOf(org)).toHaveLength(1);
    expect(await storedKeys(org)).toEqual([{ key: `${org}:assistants.create:${key}`, state: "done" }]);
  });

  it("without a key, the same body twice creates two assistants", async () => {
    const org = newOrg();
    const a = await json(await asOrg(org)("POST", "/api/assistants", { body }));
    const b = await json(await asOrg(org)("POST", "/api/assistants", { body }));
    expect(a.id).not.toBe(b.id);
    expect(await assistantRowsOf(org)).toHaveLength(2);
  });

  it("same key with a different body → 422 idempotency_key_reused, nothing changed", async () => {
    const org = newOrg();
    const key = crypto.randomUUID();
    const first = await asOrg(org)("POST", "/api/assistants", withKey(key));
    expect(first.status).toBe(201);

    const before = await sideEffects();
    const other = { ...body, business_data: { ...sampleBusiness, business_name: "Another Business" } };
    await expectError(await asOrg(org)("POST", "/api/assistants", withKey(key, other)), 422, "idempotency_key_reused");
    await expectNoSideEffects(before);
    expect(await assistantRowsOf(org)).toHaveLength(1);
  });

  it("keys are per organisation: the same key in two organisations makes two assistants", async () => {
    const key = crypto.randomUUID();
    const orgA = newOrg();
    const orgB = newOrg();
    const before = await sideEffects();

    const a = await asOrg(orgA)("POST", "/api/assistants", withKey(key));
    const b = await asOrg(orgB)("POST", "/api/assistants", withKey(key));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get("Idempotent-Replayed")).toBeNull();
    const [bodyA, bodyB] = [await json(a), await json(b)];
    expect(bodyA.id).not.toBe(bodyB.id);
    expect(bodyA.vapi_assistant_id).not.toBe(bodyB.vapi_assistant_id);

    expect((await sideEffects()).vapiAssistants.length).toBe(before.vapiAssistants.length + 2);
    // Each organisation sees only its own.
    const listA = await json(await asOrg(orgA)("GET", "/api/assistants"));
    expect(listA.assistants.map((x: { id: string }) => x.id)).toEqual([bodyA.id]);
  });

  it("a failed create forgets the key: a retry with the same key succeeds", async () => {
    const org = newOrg();
    const key = crypto.randomUUID();
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "status", status: 400 });

    await expectError(await asOrg(org)("POST", "/api/assistants", withKey(key)), 502, "vapi_error");
    expect(await storedKeys(org)).toEqual([]);
    expect(await assistantRowsOf(org)).toEqual([]);

    const retry = await asOrg(org)("POST", "/api/assistants", withKey(key));
    const retried = await json(retry);
    expect(retry.status, JSON.stringify(retried)).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await assistantRowsOf(org)).map((r) => r.id)).toEqual([retried.id]);

    // And from then on it replays.
    const again = await asOrg(org)("POST", "/api/assistants", withKey(key));
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await json(again)).id).toBe(retried.id);
  });

  it("a key whose first request is still running → 409 with Retry-After", async () => {
    const org = newOrg();
    const key = crypto.randomUUID();
    const first = await json(await asOrg(org)("POST", "/api/assistants", withKey(key)));
    // Put the key back in the state of a request in flight (started just now).
    await env.DB.prepare("UPDATE idempotency_keys SET state = 'processing', created_at = ? WHERE key = ?")
      .bind(new Date().toISOString(), `${org}:assistants.create:${key}`)
      .run();
    const before = await sideEffects();
    const response = await asOrg(org)("POST", "/api/assistants", withKey(key));
    expect(response.headers.get("Retry-After")).toBe("2");
    await expectError(response, 409, "idempotency_request_in_progress");
    await expectNoSideEffects(before);
    expect((await assistantRowsOf(org)).map((r) => r.id)).toEqual([first.id]);
  });
});
