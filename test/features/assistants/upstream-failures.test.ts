import { afterEach, describe, expect, it } from "vitest";
import { json, sampleBusiness, sandbox } from "../../helpers/api";
import { asOrg, assistantRowsOf, expectError, newOrg, sideEffects, vapiRequestsSince } from "../../helpers/assertions";

const createBody = { business_data: sampleBusiness, languages: ["en"] };

/** POSTs a create for a fresh organisation; returns the org, the response and what it changed. */
async function createWithFaults() {
  const org = newOrg();
  const before = await sideEffects();
  const response = await asOrg(org)("POST", "/api/assistants", { body: createBody });
  return { org, before, response };
}

/** Nothing of a failed create is left: no row in any state, no assistant in Vapi, no idempotency key. */
async function expectNothingKept(org: string, before: Awaited<ReturnType<typeof sideEffects>>) {
  expect(await assistantRowsOf(org)).toEqual([]);
  const after = await sideEffects();
  expect(after.counts).toEqual(before.counts);
  expect(after.vapiAssistants).toEqual(before.vapiAssistants);
}

const assistantPosts = <T extends { method: string; path: string }>(records: T[]) =>
  records.filter((r) => r.method === "POST" && r.path === "/assistant");

describe("Vapi failures during create", () => {
  afterEach(async () => {
    await sandbox().clearFaults();
  });

  it("Vapi refuses (400) → 502 with Vapi's message, not retried, nothing kept", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "status", status: 400 });
    const { org, before, response } = await createWithFaults();
    const error = await expectError(response, 502, "vapi_error");
    expect(error.message).toContain("Injected fault");
    expect(error.details).toEqual({ upstream_status: 400 });
    expect(assistantPosts(await vapiRequestsSince(before.vapiCalls))).toHaveLength(1);
    await expectNothingKept(org, before);
  });

  it("Vapi keeps failing (500 on every attempt) → 502 after 3 attempts, nothing kept", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 3, kind: "status", status: 500 });
    const { org, before, response } = await createWithFaults();
    const error = await expectError(response, 502, "vapi_error");
    expect(error.message).toMatch(/Vapi/);
    expect(assistantPosts(await vapiRequestsSince(before.vapiCalls))).toHaveLength(3);
    await expectNothingKept(org, before);
  });

  it("Vapi times out after creating the assistant → 502; compensation finds and deletes it", async () => {
    await sandbox().injectFault({
      service: "vapi",
      method: "POST",
      pathPrefix: "/assistant",
      count: 1,
      kind: "timeout",
      afterProcessing: true,
    });
    const { org, before, response } = await createWithFaults();
    const error = await expectError(response, 502, "vapi_unavailable");
    expect(error.message).toMatch(/did not answer/);

    const calls = await vapiRequestsSince(before.vapiCalls);
    // A POST whose outcome is unknown is never sent twice.
    expect(assistantPosts(calls)).toHaveLength(1);
    // The sandbox did create it (the caller just never heard), and compensation then removed it.
    const createdId = calls.find((c) => c.method === "DELETE")?.path.split("/")[2];
    expect(createdId).toBeDefined();
    expect(calls.some((c) => c.method === "GET" && c.path.startsWith("/assistant?"))).toBe(true);
    await expectNothingKept(org, before);
  });

  it("Vapi never gets the create (timeout before processing) → 502, nothing to compensate, nothing kept", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "timeout" });
    const { org, before, response } = await createWithFaults();
    await expectError(response, 502, "vapi_unavailable");
    const calls = await vapiRequestsSince(before.vapiCalls);
    expect(assistantPosts(calls)).toHaveLength(1);
    expect(calls.filter((c) => c.method === "DELETE")).toEqual([]);
    await expectNothingKept(org, before);
  });

  it("a malformed answer from Vapi → 502 vapi_error, nothing kept", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "malformed" });
    const { org, before, response } = await createWithFaults();
    await expectError(response, 502, "vapi_error");
    await expectNothingKept(org, before);
  });

  it("Vapi made the assistant but its answer cannot be read → 502 vapi_error; it is found by our metadata and deleted, nothing kept", async () => {
    await sandbox().injectFault({
      service: "vapi",
      method: "POST",
      pathPrefix: "/assistant",
      count: 1,
      kind: "malformed",
      afterProcessing: true,
    });
    const { org, before, response } = await createWithFaults();
    await expectError(response, 502, "vapi_error");
    const calls = await vapiRequestsSince(before.vapiCalls);
    expect(calls.filter((c) => c.method === "DELETE" && c.path.startsWith("/assistant/"))).toHaveLength(1);
    await expectNothingKept(org, before);
  });

  it("500 twice then success → 201 (retries work), exactly one assistant in Vapi", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 2, kind: "status", status: 500 });
    const { org, before, response } = await createWithFaults();
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(assistantPosts(await vapiRequestsSince(before.vapiCalls))).toHaveLength(3);
    const after = await sideEffects();
    expect(after.vapiAssistants.length).toBe(before.vapiAssistants.length + 1);
    expect(after.vapiAssistants).toContain(body.vapi_assistant_id);
    const rows = await assistantRowsOf(org);
    expect(rows.map((r) => r.state)).toEqual(["active"]);
  });

  it("429 with Retry-After 1 then success → 201", async () => {
    await sandbox().injectFault({
      service: "vapi",
      method: "POST",
      pathPrefix: "/assistant",
      count: 1,
      kind: "status",
      status: 429,
      retryAfterSeconds: 1,
    });
    const { org, before, response } = await createWithFaults();
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    const posts = assistantPosts(await vapiRequestsSince(before.vapiCalls));
    expect(posts.map((p) => p.status)).toEqual([429, 201]);
    expect((await assistantRowsOf(org)).map((r) => r.state)).toEqual(["active"]);
  });

  it("429 on every attempt → 503 vapi_rate_limited with Retry-After, nothing kept", async () => {
    await sandbox().injectFault({
      service: "vapi",
      method: "POST",
      pathPrefix: "/assistant",
      count: 1,
      kind: "status",
      status: 429,
      retryAfterSeconds: 120,
    });
    const { org, before, response } = await createWithFaults();
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectError(response, 503, "vapi_rate_limited");
    await expectNothingKept(org, before);
  });
});
