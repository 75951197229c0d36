import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, json, token } from "../../helpers/api";
import { expectError, newOrg } from "../../helpers/assertions";
import { adminToken } from "../../helpers/operations";
import { resetState } from "../../helpers/pool";
import { createProvisioning, numberRow, webhook } from "../../helpers/provisioning";

const PATH = "/api/admin/phone-pool/provisioning/events";

beforeEach(resetState);

/** Server-sent events read off a response body: `{event, data, id}` per event; comments (`: keepalive`) are skipped. */
function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  // A read that outlived a timed-out next() is still pending; the next call waits on it (one read at a time).
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  return {
    /** The next event, or null when the stream ended; fails after `ms`. */
    async next(ms = 8000): Promise<{ event: string; data: any; id: string | null } | null> {
      const deadline = Date.now() + ms;
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n").filter((line) => !line.startsWith(":"));
          if (lines.length === 0) continue; // a comment alone
          const field = (name: string) =>
            lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ""));
          return { event: field("event")[0] ?? "message", data: JSON.parse(field("data").join("\n")), id: field("id")[0] ?? null };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${ms} ms; buffered: ${JSON.stringify(buffer)}`);
        pending ??= reader.read();
        let timer: ReturnType<typeof setTimeout> | null = null;
        const chunk = await Promise.race([
          pending,
          new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left))),
        ]).finally(() => clearTimeout(timer));
        if (chunk === null) continue; // timed out; the loop throws
        pending = null;
        if (chunk.done) return null;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

let open: ReturnType<typeof sseReader>[] = [];
afterEach(async () => {
  // The client going away ends the server's loop (it would otherwise read D1 for 10 minutes).
  await Promise.all(open.map((r) => r.cancel().catch(() => {})));
  open = [];
});

async function subscribe() {
  const res = await call("GET", PATH, { token: await adminToken() });
  expect(res.status).toBe(200);
  const reader = sseReader(res);
  open.push(reader);
  return { res, reader };
}

/** Makes a provisioning number live as a call's webhook would. */
async function activate(p: { numberId: string; vapiId: string }, number: string) {
  const res = await webhook({ type: "status-update", status: "in-progress", call: { phoneNumberId: p.vapiId }, phoneNumber: { number } });
  expect(res.status).toBe(200);
  expect(await numberRow(p.numberId)).toMatchObject({ status: "active", number });
}

describe("GET /api/admin/phone-pool/provisioning/events", () => {
  it("is in /openapi.json as a platform_admin text/event-stream", async () => {
    const doc = await json(await call("GET", "/openapi.json", { token: null }));
    const op = doc.paths[PATH]?.get;
    expect(op, "the route is documented").toBeTruthy();
    expect(op.security).toEqual([{ Bearer: ["platform_admin"] }]);
    expect(Object.keys(op.responses[200].content)).toEqual(["text/event-stream"]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "403"]));
  });

  it("refuses member and owner (403) and a missing or bad token (401) in the one error shape, before any stream", async () => {
    for (const role of ["member", "owner"]) {
      const error = await expectError(await call("GET", PATH, { token: await token({ role }) }), 403, "forbidden");
      expect(error.message).toContain("platform_admin");
    }
    await expectError(await call("GET", PATH, { token: null }), 401, "auth_missing_token");
    const bad = await call("GET", PATH, { token: "not-a-jwt" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect((await json(bad)).error.code).toMatch(/^auth_/);
  });

  it("sends the provisioning numbers now (as GET /api/admin/phone-pool lists them), then again without one that became active", async () => {
    // Nothing seeded: an empty pool gives each new assistant a new free number, provisioning.
    const first = await createProvisioning(newOrg());
    const second = await createProvisioning(newOrg());
    const overview = await json(await call("GET", "/api/admin/phone-pool", { token: await adminToken() }));
    expect(overview.provisioning.map((p: any) => p.phone_number_id)).toEqual([first.numberId, second.numberId]);

    const { res, reader } = await subscribe();
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    expect(res.headers.get("X-D1-Round-Trips")).toBe("1"); // the first read, before the stream starts

    const now = await reader.next();
    expect(now).toMatchObject({ event: "provisioning", id: "1" });
    expect(now!.data).toEqual(overview.provisioning); // the same items, shape and order
    expect(now!.data[0]).toMatchObject({
      phone_number_id: first.numberId,
      status: "provisioning",
      vapi_phone_number_id: first.vapiId,
      assistant_id: first.assistant.id,
      assistant_name: "Cool Breeze HVAC",
      attempts: 0,
      max_attempts: 40,
    });

    await activate(first, "+14155550177");
    const next = await reader.next();
    expect(next).toMatchObject({ event: "provisioning", id: "2" });
    expect(next!.data.map((p: any) => p.phone_number_id)).toEqual([second.numberId]);
    expect(next!.data).toEqual(overview.provisioning.slice(1));

    await activate(second, "+14155550178");
    expect(await reader.next()).toMatchObject({ event: "provisioning", id: "3", data: [] });
  });

  it("sends an empty list when nothing provisions, and nothing more while nothing changes", async () => {
    const { reader } = await subscribe();
    expect(await reader.next()).toEqual({ event: "provisioning", data: [], id: "1" });
    await expect(reader.next(2500)).rejects.toThrow(/no event within/); // polled twice, unchanged: silent
    const p = await createProvisioning(newOrg());
    const appeared = await reader.next();
    expect(appeared).toMatchObject({ event: "provisioning", id: "2" });
    expect(appeared!.data.map((item: any) => item.phone_number_id)).toEqual([p.numberId]);
  });
});
