import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_WEBHOOK_BYTES } from "../../../src/app";
import { timingSafeEqual } from "../../../src/platform/crypto";
import { call, sandbox, sendStreamed, tableCounts } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import { dbSnapshot, expectErrorShape } from "../../helpers/openapi";
import { resetState } from "../../helpers/pool";
import { createProvisioning, numberRow, trackerAlarm } from "../../helpers/provisioning";
import { TEST_SETTINGS } from "../../settings";

/**
 * /webhooks/vapi: X-Vapi-Secret compared in constant time, bodies over MAX_WEBHOOK_BYTES refused with 413 before
 * they are read, and nothing processed before the secret is checked. The message used throughout is a
 * `status-update` on a number still provisioning, which (with the right secret) would make the number active, stop
 * its tracker and date its last call; a refused request must change none of that, nor call Vapi.
 */

const SECRET = TEST_SETTINGS.VAPI_WEBHOOK_SECRET;
const URL_ = "https://switchboard.test/webhooks/vapi";

describe("timingSafeEqual (src/lib/crypto.ts)", () => {
  it("equal strings are equal", () => {
    expect(timingSafeEqual(SECRET, SECRET)).toBe(true);
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("é-ünïcode-秘密", "é-ünïcode-秘密")).toBe(true);
  });

  it("strings of the same length differing anywhere are unequal, first, middle or last character", () => {
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "x" ? "y" : "x") + s.slice(i + 1);
    for (const i of [0, Math.floor(SECRET.length / 2), SECRET.length - 1]) {
      expect(timingSafeEqual(flip(SECRET, i), SECRET), `differs at ${i}`).toBe(false);
      expect(timingSafeEqual(SECRET, flip(SECRET, i)), `differs at ${i} (swapped)`).toBe(false);
    }
    expect(timingSafeEqual(SECRET, SECRET.toUpperCase())).toBe(false);
  });

  it("strings of different lengths are unequal: a prefix, a longer one, the empty string, NUL padding", () => {
    expect(timingSafeEqual(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(timingSafeEqual(SECRET, SECRET.slice(0, -1))).toBe(false);
    expect(timingSafeEqual(`${SECRET}0`, SECRET)).toBe(false);
    expect(timingSafeEqual("", SECRET)).toBe(false);
    expect(timingSafeEqual(SECRET, "")).toBe(false);
    // A shorter input is not padded into a match, whatever the padding.
    expect(timingSafeEqual(`${SECRET}\u0000`, SECRET)).toBe(false);
    expect(timingSafeEqual("a", "a\u0000\u0000")).toBe(false);
  });

  it("compares bytes, not look-alikes: composed and decomposed é differ", () => {
    expect(timingSafeEqual("\u00e9", "e\u0301")).toBe(false);
  });

  it("agrees with === on well-formed strings (fixed-seed property)", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 40 });
    fc.assert(
      fc.property(
        text,
        text,
        (a, b) => timingSafeEqual(a, b) === (a === b) && timingSafeEqual(a, a) && timingSafeEqual(b, a) === timingSafeEqual(a, b),
      ),
      { seed: 20261126, numRuns: 500 },
    );
    fc.assert(
      fc.property(text, fc.nat(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), (s, at, c) => {
        const i = s.length ? at % s.length : 0;
        const changed = s.slice(0, i) + c + s.slice(i + 1);
        return timingSafeEqual(changed, s) === (changed === s);
      }),
      { seed: 20261126, numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

interface Provisioning {
  numberId: string;
  vapiId: string;
  trackerKey: string;
}
let p: Provisioning;

/** A minute before the suite runs: within the range in which a message's timestamp dates a call. */
const CALL_AT = Date.now() - 60_000;

/** A call on the provisioning number: processed, it would prove the number live. */
const statusUpdate = (vapiId: string, extra: Record<string, unknown> = {}) => ({
  message: {
    type: "status-update",
    status: "in-progress",
    timestamp: CALL_AT,
    call: { id: "call-sec-1", phoneNumberId: vapiId, type: "inboundPhoneCall" },
    phoneNumber: { number: "+14155550199" },
    ...extra,
  },
});

/** The same message padded (with a transcript, as end-of-call reports carry) to at least `bytes` bytes. */
const paddedStatusUpdate = (vapiId: string, bytes: number) => {
  const text = JSON.stringify(statusUpdate(vapiId, { transcript: "" }));
  return text.replace('"transcript":""', `"transcript":"${"x".repeat(Math.max(0, bytes - text.length))}"`);
};

/** A stream of `text` (then spaces up to `total` bytes) that counts the bytes the server pulled from it. */
function countingStream(text: string, total: number, chunk = 64 * 1024) {
  const head = new TextEncoder().encode(text);
  const counter = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) return controller.close();
      const n = Math.min(chunk, total - counter.pulled);
      const bytes = new Uint8Array(n).fill(0x20);
      if (counter.pulled < head.length) bytes.set(head.subarray(counter.pulled, counter.pulled + n));
      counter.pulled += n;
      controller.enqueue(bytes);
    },
  });
  return { stream, counter };
}

async function postStream(
  stream: ReadableStream<Uint8Array>,
  headers: Record<string, string>,
): Promise<{ response: Response; text: string }> {
  const request = new Request(URL_, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: stream,
    duplex: "half",
  } as RequestInit);
  const response = await sendStreamed(request);
  return { response, text: await response.text() };
}

async function post(body: string, headers: Record<string, string>): Promise<{ response: Response; text: string }> {
  const response = await call("POST", "/webhooks/vapi", { token: null, rawBody: body, headers });
  return { response, text: await response.text() };
}

/** Everything the message could have changed. */
async function observable() {
  const [snapshot, counts, requests, row, alarm] = await Promise.all([
    dbSnapshot(),
    tableCounts(),
    sandbox().requests(),
    numberRow(p.numberId),
    trackerAlarm(p.trackerKey),
  ]);
  return { snapshot, counts, requests: requests.length, row, alarm };
}

/** Runs `fn` and proves the message was not processed: no D1 change, no upstream call, tracker still armed. */
async function notProcessed(context: string, fn: () => Promise<void>) {
  const before = await observable();
  expect(before.row!.status, "the number must still be provisioning for this test to mean anything").toBe("provisioning");
  expect(before.alarm).not.toBeNull();
  await fn();
  const after = await observable();
  expect(after.row, `${context}: the number's row changed`).toEqual(before.row);
  expect(after.counts, `${context}: row counts changed`).toEqual(before.counts);
  expect(after.snapshot, `${context}: D1 changed`).toEqual(before.snapshot);
  expect(after.requests, `${context}: an upstream call was made`).toBe(before.requests);
  expect(after.alarm, `${context}: the tracker's alarm changed`).toBe(before.alarm);
}

function expectUnauthorized(response: Response, text: string, context: string) {
  expect(response.status, `${context}: ${text.slice(0, 200)}`).toBe(401);
  expect(expectErrorShape(response, text, context).code).toBe("invalid_webhook_secret");
  expect(text.includes(SECRET), `${context}: the answer reveals the secret`).toBe(false);
}

beforeAll(async () => {
  await resetState();
  const created = await createProvisioning(newOrg());
  p = { numberId: created.numberId, vapiId: created.vapiId, trackerKey: created.trackerKey };
});

describe("POST /webhooks/vapi checks X-Vapi-Secret before anything else", () => {
  const lastChar = SECRET.slice(-1) === "0" ? "1" : "0";
  const wrongSecrets: [string, string][] = [
    ["differing only in the last character", SECRET.slice(0, -1) + lastChar],
    ["differing only in the first character", (SECRET[0] === "x" ? "y" : "x") + SECRET.slice(1)],
    ["one character short (a prefix)", SECRET.slice(0, -1)],
    ["one character longer (the secret as a prefix)", `${SECRET}0`],
    ["in upper case", SECRET.toUpperCase()],
    ["empty", ""],
    ["being the secret twice", SECRET + SECRET],
  ];

  it.each(wrongSecrets)("X-Vapi-Secret %s → 401, and the status-update that would change state changes nothing", async (label, secret) => {
    await notProcessed(label, async () => {
      const { response, text } = await post(JSON.stringify(statusUpdate(p.vapiId)), { "X-Vapi-Secret": secret });
      expectUnauthorized(response, text, label);
    });
  });

  it("a missing X-Vapi-Secret header → 401, nothing processed", async () => {
    await notProcessed("no header", async () => {
      const { response, text } = await post(JSON.stringify(statusUpdate(p.vapiId)), {});
      expectUnauthorized(response, text, "no header");
    });
  });

  it("the header sent twice (wrong, then right) is not the secret → 401", async () => {
    await notProcessed("header twice", async () => {
      const headers = new Headers({ "Content-Type": "application/json" });
      headers.append("X-Vapi-Secret", "wrong-secret");
      headers.append("X-Vapi-Secret", SECRET);
      const response = await exports.default.fetch(
        new Request(URL_, { method: "POST", headers, body: JSON.stringify(statusUpdate(p.vapiId)) }),
      );
      expectUnauthorized(response, await response.text(), "header twice");
    });
  });

  it("with a wrong secret the body is never parsed: malformed or invalid bodies answer 401, not 400", async () => {
    await notProcessed("wrong secret, bad bodies", async () => {
      for (const body of ['{"message": {"type": "status-update"', "[]", '{"message": 42}', "null"]) {
        const { response, text } = await post(body, { "X-Vapi-Secret": "wrong-secret-wrong-secret" });
        expectUnauthorized(response, text, `wrong secret with ${body}`);
      }
    });
  });

  it("the secret in another header (a bearer token, a signature, a look-alike name) does not count → 401", async () => {
    await notProcessed("other credentials", async () => {
      const elsewhere: Record<string, string>[] = [
        { Authorization: `Bearer ${SECRET}` },
        { "X-Vapi-Signature": SECRET },
        { "X-Vapi-Secret-Token": SECRET },
      ];
      for (const headers of elsewhere) {
        const { response, text } = await post(JSON.stringify(statusUpdate(p.vapiId)), headers);
        expectUnauthorized(response, text, JSON.stringify(Object.keys(headers)));
      }
    });
  });
});

describe(`POST /webhooks/vapi refuses a body over ${MAX_WEBHOOK_BYTES / 1024} KB with 413 before reading it`, () => {
  const over = MAX_WEBHOOK_BYTES + 1024;

  it("with Content-Length and the right secret → 413 payload_too_large, nothing processed", async () => {
    await notProcessed("1 MB + 1 KB", async () => {
      const body = paddedStatusUpdate(p.vapiId, over);
      expect(new TextEncoder().encode(body).length).toBeGreaterThan(MAX_WEBHOOK_BYTES);
      const { response, text } = await post(body, { "X-Vapi-Secret": SECRET });
      expect(response.status, text.slice(0, 200)).toBe(413);
      expect(expectErrorShape(response, text, "over the limit").code).toBe("payload_too_large");
    });
  });

  it("a declared Content-Length over the limit is answered without reading the body", async () => {
    const total = 4 * MAX_WEBHOOK_BYTES;
    await notProcessed("declared 4 MB", async () => {
      const { stream, counter } = countingStream(JSON.stringify(statusUpdate(p.vapiId)), total);
      const { response, text } = await postStream(stream, { "X-Vapi-Secret": SECRET, "Content-Length": String(total) });
      expect(response.status, text.slice(0, 200)).toBe(413);
      expect(expectErrorShape(response, text, "declared 4 MB").code).toBe("payload_too_large");
      // At most what the runtime buffers ahead: far less than the limit, let alone the body.
      expect(counter.pulled, `${counter.pulled} bytes were read`).toBeLessThan(MAX_WEBHOOK_BYTES / 2);
    });
  });

  it("without Content-Length (streamed), reading stops just past the limit → 413, nothing processed", async () => {
    const total = 4 * MAX_WEBHOOK_BYTES;
    const chunk = 64 * 1024;
    await notProcessed("streamed 4 MB", async () => {
      const { stream, counter } = countingStream(JSON.stringify(statusUpdate(p.vapiId)), total, chunk);
      const { response, text } = await postStream(stream, { "X-Vapi-Secret": SECRET });
      expect(response.status, text.slice(0, 200)).toBe(413);
      expect(expectErrorShape(response, text, "streamed 4 MB").code).toBe("payload_too_large");
      expect(counter.pulled, `${counter.pulled} of ${total} bytes were read`).toBeLessThanOrEqual(MAX_WEBHOOK_BYTES + 4 * chunk);
    });
  });

  it("an oversized body with a wrong secret → 401 or 413, never processed (Content-Length and streamed)", async () => {
    await notProcessed("oversized, wrong secret", async () => {
      const wrong = { "X-Vapi-Secret": `${SECRET.slice(0, -1)}x` };
      const sized = await post(paddedStatusUpdate(p.vapiId, over), wrong);
      expect([401, 413], sized.text.slice(0, 200)).toContain(sized.response.status);
      expectErrorShape(sized.response, sized.text, "oversized, wrong secret");

      const { stream } = countingStream(JSON.stringify(statusUpdate(p.vapiId)), 4 * MAX_WEBHOOK_BYTES);
      const streamed = await postStream(stream, wrong);
      expect([401, 413], streamed.text.slice(0, 200)).toContain(streamed.response.status);
      expectErrorShape(streamed.response, streamed.text, "oversized streamed, wrong secret");
    });
  });

  it("an oversized body with no secret at all → 401 or 413, never processed", async () => {
    await notProcessed("oversized, no secret", async () => {
      const { response, text } = await post(paddedStatusUpdate(p.vapiId, over), {});
      expect([401, 413], text.slice(0, 200)).toContain(response.status);
      expectErrorShape(response, text, "oversized, no secret");
    });
  });
});

describe("control: the same message with the right secret is processed", () => {
  it("a body just under the limit with the right secret → 200, and the number is active (what the refusals prevented)", async () => {
    const body = paddedStatusUpdate(p.vapiId, MAX_WEBHOOK_BYTES - 1024);
    const response = await call("POST", "/webhooks/vapi", { token: null, rawBody: body, headers: { "X-Vapi-Secret": SECRET } });
    expect(response.status, await response.clone().text()).toBe(200);
    const row = await numberRow(p.numberId);
    expect(row).toMatchObject({ status: "active", number: "+14155550199", last_call_at: new Date(CALL_AT).toISOString() });
  });
});
