import { afterEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../src/platform/log";
import { callUpstream, parseRetryAfter, type UpstreamTransport } from "../../src/integrations/http";
import { createVapiClient, describeVapiError } from "../../src/integrations/vapi";
import { rejection, scripted, type Step } from "../helpers/upstream";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const TIMEOUT_MS = 5_000;
const transportWith = (fetch: UpstreamTransport["fetch"], overrides: Partial<UpstreamTransport> = {}): UpstreamTransport => ({
  fetch,
  timeoutMs: TIMEOUT_MS,
  maxRetries: 2,
  retryBaseMs: 1,
  log: silent,
  ...overrides,
});

const vapiAssistant = {
  id: "asst-1",
  orgId: "vapi-org",
  name: "Front desk",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};
const ok =
  (body: unknown = vapiAssistant, status = 200): Step =>
  () =>
    Response.json(body, { status });
const status =
  (code: number, body: unknown = { message: "nope", error: "Error", statusCode: code }, headers: Record<string, string> = {}): Step =>
  () =>
    Response.json(body, { status: code, headers });
const hang: Step = () => new Promise<Response>(() => {});
const dropConnection: Step = () => Promise.reject(new TypeError("Network connection lost."));

const client = (fetch: UpstreamTransport["fetch"], overrides: Partial<UpstreamTransport> = {}) =>
  createVapiClient(transportWith(fetch, overrides), "https://api.vapi.test/", "private-key");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Vapi client requests", () => {
  it("sends the key, JSON body and path Vapi expects, and parses the answer", async () => {
    const fake = scripted(ok(vapiAssistant, 201));
    const created = await client(fake.fetch).createAssistant({ name: "Front desk" });
    expect(created).toMatchObject({ id: "asst-1", name: "Front desk" });
    expect(fake.calls).toHaveLength(1);
    const { request, body } = fake.calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.vapi.test/assistant");
    expect(request.headers.get("Authorization")).toBe("Bearer private-key");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(body)).toEqual({ name: "Front desk" });
  });

  it("lists with limit and createdAtGe, and escapes ids in paths", async () => {
    const fake = scripted(ok([vapiAssistant]), ok(vapiAssistant));
    const vapi = client(fake.fetch);
    expect(await vapi.listAssistants({ createdAtGe: "2026-01-01T00:00:00.000Z" })).toHaveLength(1);
    await vapi.getAssistant("a/b?c");
    const [list, get] = fake.calls.map((c) => new URL(c.request.url));
    expect(list!.pathname).toBe("/assistant");
    expect(list!.searchParams.get("limit")).toBe("1000");
    expect(list!.searchParams.get("createdAtGe")).toBe("2026-01-01T00:00:00.000Z");
    expect(get!.pathname).toBe("/assistant/a%2Fb%3Fc");
  });
});

describe("retries", () => {
  it("500 then 200 → success after 2 calls", async () => {
    const fake = scripted(status(500), ok());
    expect((await client(fake.fetch).getAssistant("asst-1")).id).toBe("asst-1");
    expect(fake.calls).toHaveLength(2);
  });

  it("a POST is retried on 5xx too (Vapi did not act), up to maxRetries + 1 calls", async () => {
    const fake = scripted(status(503));
    const error = await rejection(client(fake.fetch).createAssistant({ name: "x" }));
    expect(fake.calls).toHaveLength(3);
    expect(error).toMatchObject({ failure: "http", status: 503 });
  });

  it("maxRetries 0 means a single call", async () => {
    const fake = scripted(status(500));
    await rejection(client(fake.fetch, { maxRetries: 0 }).getAssistant("asst-1"));
    expect(fake.calls).toHaveLength(1);
  });

  it("429 with Retry-After 0 is retried after the delay Vapi asked for, not the backoff", async () => {
    const timers = vi.spyOn(globalThis, "setTimeout");
    const fake = scripted(status(429, { message: "slow down" }, { "Retry-After": "0" }), ok());
    // A backoff step of 1000 ms would show up as a delay of 800–1200 ms.
    await client(fake.fetch, { retryBaseMs: 1000 }).getAssistant("asst-1");
    expect(fake.calls).toHaveLength(2);
    const sleeps = timers.mock.calls.map((c) => c[1]).filter((ms) => ms !== TIMEOUT_MS);
    expect(sleeps).toEqual([0]);
  });

  it("without Retry-After, the retry waits a jittered exponential backoff", async () => {
    const timers = vi.spyOn(globalThis, "setTimeout");
    const fake = scripted(status(502), status(502), ok());
    await client(fake.fetch, { retryBaseMs: 10 }).getAssistant("asst-1");
    const sleeps = timers.mock.calls.map((c) => c[1] as number).filter((ms) => ms !== TIMEOUT_MS);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(8);
    expect(sleeps[0]).toBeLessThanOrEqual(12);
    expect(sleeps[1]).toBeGreaterThanOrEqual(16);
    expect(sleeps[1]).toBeLessThanOrEqual(24);
  });

  it("429 with a Retry-After longer than 10 s is not waited for: the error carries it", async () => {
    const fake = scripted(status(429, { message: "Too many requests" }, { "Retry-After": "3600" }));
    const error = await rejection(client(fake.fetch).getAssistant("asst-1"));
    expect(fake.calls).toHaveLength(1);
    expect(error).toMatchObject({ failure: "http", status: 429, retryAfterSeconds: 3600 });
    expect(error.isRefusal).toBe(false);
  });

  it("400 is not retried, and the error message is Vapi's message array joined", async () => {
    const fake = scripted(
      status(400, {
        message: ["name must be shorter than or equal to 40 characters", "property foo should not exist"],
        error: "Bad Request",
        statusCode: 400,
      }),
    );
    const error = await rejection(client(fake.fetch).createAssistant({ name: "x".repeat(41) }));
    expect(fake.calls).toHaveLength(1);
    expect(error.message).toBe("name must be shorter than or equal to 40 characters; property foo should not exist");
    expect(error).toMatchObject({ service: "vapi", failure: "http", status: 400 });
    expect(error.isRefusal).toBe(true);
    expect(error.outcomeUnknown).toBe(false);
  });

  it("404 is not retried and is recognisable", async () => {
    const fake = scripted(status(404, { message: "Couldn't Find Assistant." }));
    const error = await rejection(client(fake.fetch).getAssistant("missing"));
    expect(fake.calls).toHaveLength(1);
    expect(error.isNotFound).toBe(true);
    expect(error.message).toBe("Couldn't Find Assistant.");
  });
});

describe("timeouts and dropped connections", () => {
  it("no answer within timeoutMs → UpstreamError timeout, and the request is aborted", async () => {
    const fake = scripted(hang);
    const error = await rejection(client(fake.fetch, { timeoutMs: 20, maxRetries: 0 }).getAssistant("asst-1"));
    expect(error.failure).toBe("timeout");
    expect(error.outcomeUnknown).toBe(true);
    expect(fake.calls[0]!.request.signal.aborted).toBe(true);
  });

  it("headers in time but a body that never ends → timeout too (not a hang)", async () => {
    const stalled: Step = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"id": "asst-1", '));
          },
        }),
        { status: 200, headers: { "Content-Type": "application/json" } },
      );
    const fake = scripted(stalled);
    const error = await rejection(client(fake.fetch, { timeoutMs: 20 }).createAssistant({ name: "x" }));
    expect(error.failure).toBe("timeout");
    expect(fake.calls).toHaveLength(1);
  }, 2_000);

  it("a POST is not retried after a timeout (Vapi may have acted)", async () => {
    const fake = scripted(hang);
    const error = await rejection(client(fake.fetch, { timeoutMs: 20 }).createAssistant({ name: "x" }));
    expect(error.failure).toBe("timeout");
    expect(fake.calls).toHaveLength(1);
  });

  it("a GET is retried after a timeout, and can then succeed", async () => {
    const fake = scripted(hang, ok());
    expect((await client(fake.fetch, { timeoutMs: 20 }).getAssistant("asst-1")).id).toBe("asst-1");
    expect(fake.calls).toHaveLength(2);

    const always = scripted(hang);
    const error = await rejection(client(always.fetch, { timeoutMs: 20 }).listAssistants());
    expect(error.failure).toBe("timeout");
    expect(always.calls).toHaveLength(3);
  });

  it("a dropped connection: POST fails once with failure network, DELETE is retried", async () => {
    const post = scripted(dropConnection);
    const error = await rejection(client(post.fetch).createAssistant({ name: "x" }));
    expect(error.failure).toBe("network");
    expect(error.outcomeUnknown).toBe(true);
    expect(post.calls).toHaveLength(1);

    const del = scripted(dropConnection, ok(null));
    await client(del.fetch).deleteAssistant("asst-1");
    expect(del.calls).toHaveLength(2);
  });
});

describe("answers that cannot be read", () => {
  it("malformed JSON on 200 → UpstreamError invalid_response", async () => {
    const fake = scripted(() => new Response('{"id": <html>Bad Gateway', { status: 200, headers: { "Content-Type": "application/json" } }));
    const error = await rejection(client(fake.fetch).createAssistant({ name: "x" }));
    expect(error.failure).toBe("invalid_response");
    expect(error.status).toBe(200);
  });

  it("JSON of the wrong shape → invalid_response", async () => {
    const fake = scripted(ok({ name: "no id here" }));
    expect((await rejection(client(fake.fetch).getAssistant("asst-1"))).failure).toBe("invalid_response");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds", () => {
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter("0")).toBe(0);
    expect(parseRetryAfter("-5")).toBe(0);
  });

  it("reads an HTTP date", () => {
    const inFiveSeconds = new Date(Date.now() + 5_000).toUTCString();
    const seconds = parseRetryAfter(inFiveSeconds)!;
    // HTTP dates have whole seconds.
    expect(seconds).toBeGreaterThan(3.9);
    expect(seconds).toBeLessThanOrEqual(5);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBe(0);
  });

  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("describeVapiError", () => {
  it("uses Vapi's message, string or array, else the text, else the status", () => {
    expect(describeVapiError(400, { message: ["a", "b"] })).toBe("a; b");
    expect(describeVapiError(401, { message: "Invalid key" })).toBe("Invalid key");
    expect(describeVapiError(502, "<html>Bad Gateway</html>")).toBe("<html>Bad Gateway</html>");
    expect(describeVapiError(500, null)).toBe("HTTP 500");
  });
});

describe("callUpstream", () => {
  it("respects the request's own retryOn, and reports each call", async () => {
    const counted: string[] = [];
    const fake = scripted(status(500), ok({ fine: true }));
    const error = await rejection(
      callUpstream(transportWith(fake.fetch, { onCall: (s) => counted.push(s) }), {
        service: "twilio",
        method: "GET",
        url: "https://api.twilio.test/x",
        retryOn: () => false,
        idempotent: true,
      }),
    );
    expect(error).toMatchObject({ service: "twilio", failure: "http", status: 500, message: "HTTP 500" });
    expect(fake.calls).toHaveLength(1);
    expect(counted).toEqual(["twilio"]);
  });
});
