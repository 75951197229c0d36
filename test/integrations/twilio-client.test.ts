import { afterEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../src/platform/log";
import type { UpstreamTransport } from "../../src/integrations/http";
import {
  createTwilioClient,
  TwilioApiError,
  twilioErrorCode,
  twilioUserMessage,
  type TwilioCredentials,
} from "../../src/integrations/twilio";
import { upstreamFailure } from "../../src/platform/upstream-failure";
import { rejection, scripted, type Step } from "../helpers/upstream";

const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "auth-token-that-must-stay-secret";
const TIMEOUT_MS = 5_000;
const logged: unknown[] = [];
const recording: Logger = {
  debug: (...args) => void logged.push(args),
  info: (...args) => void logged.push(args),
  warn: (...args) => void logged.push(args),
  error: (...args) => void logged.push(args),
  child: () => recording,
};

const client = (
  fetch: UpstreamTransport["fetch"],
  overrides: Partial<UpstreamTransport> = {},
  credentials: TwilioCredentials = { accountSid: SID, authToken: TOKEN },
) =>
  createTwilioClient(
    { fetch, timeoutMs: TIMEOUT_MS, maxRetries: 2, retryBaseMs: 1, log: recording, ...overrides },
    "https://api.twilio.test/",
    credentials,
  );

const number = (phoneNumber: string, sid = `PN${"1".repeat(32)}`) => ({
  sid,
  account_sid: SID,
  phone_number: phoneNumber,
  friendly_name: "Front desk",
  capabilities: { voice: true, sms: true, mms: true, fax: false },
  date_created: "Thu, 30 Jul 2015 23:19:04 +0000",
});
const ok =
  (body: unknown, status = 200): Step =>
  () =>
    Response.json(body, { status });
const twilioError =
  (status: number, code: number, message: string): Step =>
  () =>
    Response.json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, { status });
const hang: Step = () => new Promise<Response>(() => {});
const page = (items: unknown[], next: string | null = null) => ({
  incoming_phone_numbers: items,
  next_page_uri: next,
  page: 0,
  page_size: 100,
});

afterEach(() => {
  vi.restoreAllMocks();
  logged.length = 0;
});

describe("Twilio client requests", () => {
  it("buys with a form-encoded body and Basic auth of the Account SID and Auth Token", async () => {
    const fake = scripted(ok(number("+14155550123"), 201));
    const bought = await client(fake.fetch).buyNumber({ phoneNumber: "+14155550123", friendlyName: "Switchboard org-a" });
    expect(bought).toEqual({
      sid: `PN${"1".repeat(32)}`,
      phoneNumber: "+14155550123",
      friendlyName: "Front desk",
      capabilities: { voice: true },
    });
    const { request, body } = fake.calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`https://api.twilio.test/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers.json`);
    expect(request.headers.get("Authorization")).toBe(`Basic ${btoa(`${SID}:${TOKEN}`)}`);
    expect(request.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
    expect(body).toBe("PhoneNumber=%2B14155550123&FriendlyName=Switchboard+org-a");
  });

  it("with an API key, authenticates as the key but keeps the AC sid in the path", async () => {
    const fake = scripted(ok({ sid: SID, friendly_name: "Acme", status: "active", type: "Full", extra: 1 }));
    const credentials = { accountSid: SID, authToken: TOKEN, apiKeySid: "SK0123", apiKeySecret: "key-secret" };
    const account = await client(fake.fetch, {}, credentials).fetchAccount();
    expect(account).toEqual({ sid: SID, friendlyName: "Acme", status: "active", type: "Full" });
    const { request } = fake.calls[0]!;
    expect(request.url).toBe(`https://api.twilio.test/2010-04-01/Accounts/${SID}.json`);
    expect(request.headers.get("Authorization")).toBe(`Basic ${btoa("SK0123:key-secret")}`);
  });

  it("refuses credentials with neither a token nor a whole API key", () => {
    expect(() => client(async () => new Response(), {}, { accountSid: SID, apiKeySid: "SK0123" })).toThrow(/auth token/);
  });

  it("searches local voice numbers in an area code, at most 30 a page", async () => {
    const fake = scripted(
      ok({
        available_phone_numbers: [
          { phone_number: "+15125550100", friendly_name: "(512) 555-0100", locality: "Austin", region: "TX", lata: null },
        ],
      }),
    );
    const found = await client(fake.fetch).searchLocalNumbers({ areaCode: "512", limit: 100 });
    expect(found).toEqual([{ phoneNumber: "+15125550100", friendlyName: "(512) 555-0100", locality: "Austin", region: "TX" }]);
    const url = new URL(fake.calls[0]!.request.url);
    expect(url.pathname).toBe(`/2010-04-01/Accounts/${SID}/AvailablePhoneNumbers/US/Local.json`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ VoiceEnabled: "true", PageSize: "30", AreaCode: "512" });
  });

  it("finds a number by its exact E.164 value among partial matches", async () => {
    const fake = scripted(ok(page([number("+141555501234", `PN${"2".repeat(32)}`), number("+14155550123")])));
    const found = await client(fake.fetch).findIncomingNumber("+14155550123");
    expect(found?.sid).toBe(`PN${"1".repeat(32)}`);
    expect(new URL(fake.calls[0]!.request.url).searchParams.get("PhoneNumber")).toBe("+14155550123");
    expect(fake.calls[0]!.request.url).toContain("PhoneNumber=%2B14155550123");

    const none = scripted(ok(page([])));
    expect(await client(none.fetch).findIncomingNumber("+14155550123")).toBeNull();
  });

  it("lists every page by following next_page_uri, and never follows a URI to another host", async () => {
    const next = `/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers.json?PageSize=100&Page=1&PageToken=PA1`;
    const fake = scripted(
      ok(page([number("+14155550101", `PN${"a".repeat(32)}`)], next)),
      ok(page([number("+14155550102", `PN${"b".repeat(32)}`)])),
    );
    const all = await client(fake.fetch).listIncomingNumbers();
    expect(all.map((n) => n.phoneNumber)).toEqual(["+14155550101", "+14155550102"]);
    expect(fake.calls[1]!.request.url).toBe(`https://api.twilio.test${next}`);

    const elsewhere = scripted(ok(page([number("+14155550101")], "https://evil.example/steal")));
    expect(await client(elsewhere.fetch).listIncomingNumbers()).toHaveLength(1);
    expect(elsewhere.calls).toHaveLength(1);
  });

  it("stops after a bounded number of pages", async () => {
    const next = `/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers.json?Page=1`;
    const endless = scripted(ok(page([number("+14155550101")], next)));
    expect(await client(endless.fetch).listIncomingNumbers()).toHaveLength(20);
    expect(endless.calls).toHaveLength(20);
  });

  it("an answer of the wrong shape is invalid_response", async () => {
    const fake = scripted(ok({ incoming_phone_numbers: "nope" }));
    expect((await rejection(client(fake.fetch).listIncomingNumbers())).failure).toBe("invalid_response");
  });
});

describe("retries", () => {
  it("429 (20429) is retried with full jitter, then succeeds, even for a purchase", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const timers = vi.spyOn(globalThis, "setTimeout");
    const fake = scripted(
      twilioError(429, 20429, "Too Many Requests"),
      twilioError(429, 20429, "Too Many Requests"),
      ok(number("+14155550123"), 201),
    );
    await client(fake.fetch, { retryBaseMs: 40 }).buyNumber({ phoneNumber: "+14155550123", friendlyName: "x" });
    expect(fake.calls).toHaveLength(3);
    const sleeps = timers.mock.calls.map((c) => c[1]).filter((ms) => ms !== TIMEOUT_MS);
    // Full jitter is random × cap (20 = 0.5 × 40, then 0.5 × 80); the ±20 % jitter would give 40 and 80.
    expect(sleeps).toEqual([20, 40]);
  });

  it("429 still failing after the retries is a TwilioApiError that says so", async () => {
    const fake = scripted(twilioError(429, 20429, "Too Many Requests"));
    const error = await rejection<TwilioApiError>(client(fake.fetch).listIncomingNumbers());
    expect(fake.calls).toHaveLength(3);
    expect(error).toMatchObject({ code: 20429, status: 429, service: "twilio", failure: "http" });
    expect(error.userMessage).toMatch(/rate limiting/);
    expect(upstreamFailure(error, "list the numbers").status).toBe(503);
  });

  it("400 21422 is not retried, and is mapped to a message a person can act on", async () => {
    const fake = scripted(twilioError(400, 21422, "+14155550123 is not available."));
    const error = await rejection<TwilioApiError>(client(fake.fetch).buyNumber({ phoneNumber: "+14155550123", friendlyName: "x" }));
    expect(fake.calls).toHaveLength(1);
    expect(error).toBeInstanceOf(TwilioApiError);
    expect(error).toMatchObject({ service: "twilio", failure: "http", status: 400, code: 21422, body: { code: 21422 } });
    expect(error.userMessage).toBe("The number +14155550123 is no longer available on Twilio; pick another number.");
    expect(error.message).toBe("Twilio error 21422: +14155550123 is not available.");
    expect(error.isRefusal).toBe(true);
    expect(twilioErrorCode(error)).toBe(21422);
    const api = upstreamFailure(error, "buy the number");
    expect(api.status).toBe(502);
    expect(api.message).toContain("21422");
  });

  it("5xx is not retried (Twilio asks for retries on 429 only), and a non-JSON body still makes an error", async () => {
    const fake = scripted(() => new Response("<html>Bad Gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } }));
    const error = await rejection<TwilioApiError>(client(fake.fetch).fetchAccount());
    expect(fake.calls).toHaveLength(1);
    expect(error).toBeInstanceOf(TwilioApiError);
    expect(error).toMatchObject({ code: null, status: 502, message: "[HTTP 502] <html>Bad Gateway</html>" });
    expect(error.userMessage).toBe("Twilio refused the request: [HTTP 502] <html>Bad Gateway</html>");

    const empty = scripted(() => new Response(null, { status: 500 }));
    expect((await rejection(client(empty.fetch).fetchAccount())).message).toBe("[HTTP 500] Failed to execute request");
    expect(twilioErrorCode(new Error("x"))).toBeNull();
  });

  it("a POST or DELETE is not retried after a timeout (Twilio may have acted); a GET is", async () => {
    const post = scripted(hang);
    const error = await rejection(client(post.fetch, { timeoutMs: 20 }).buyNumber({ phoneNumber: "+14155550123", friendlyName: "x" }));
    expect(error.failure).toBe("timeout");
    expect(error).not.toBeInstanceOf(TwilioApiError);
    expect(post.calls).toHaveLength(1);

    const del = scripted(hang);
    expect((await rejection(client(del.fetch, { timeoutMs: 20 }).releaseNumber(`PN${"1".repeat(32)}`))).failure).toBe("timeout");
    expect(del.calls).toHaveLength(1);

    const get = scripted(hang, ok({ sid: SID }));
    expect((await client(get.fetch, { timeoutMs: 20 }).fetchAccount()).sid).toBe(SID);
    expect(get.calls).toHaveLength(2);
  });
});

describe("errors people can act on", () => {
  it("rejected credentials: 20003, and the token appears in no message or log", async () => {
    const fake = scripted(twilioError(401, 20003, "Authenticate"));
    const error = await rejection<TwilioApiError>(client(fake.fetch).fetchAccount());
    expect(error).toMatchObject({ code: 20003, status: 401 });
    expect(error.userMessage).toMatch(/^Twilio rejected the Account SID and Auth Token \(or API key\).*Twilio console/);
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
    expect(JSON.stringify(logged)).not.toContain(btoa(`${SID}:${TOKEN}`));
    expect(error.message).not.toContain(TOKEN);
  });

  it("maps trial, number and area code errors, naming what it can", () => {
    expect(twilioUserMessage(21404, 400, "Trial accounts are allowed only one Twilio number.")).toMatch(
      /^Trial Twilio accounts may hold only one number; upgrade/,
    );
    expect(twilioUserMessage(10002, 400, "x")).toMatch(/^Trial Twilio accounts/);
    expect(twilioUserMessage(21421, 400, "PhoneNumber is invalid", { phoneNumber: "555" })).toMatch(
      /^The number 555 is not a valid phone number/,
    );
    expect(twilioUserMessage(21452, 400, "No phone numbers found", { areaCode: "533" })).toBe(
      "Twilio has no numbers available in area code 533; try a nearby area code.",
    );
    expect(twilioUserMessage(21452, 400, "No phone numbers found")).toMatch(/in that area code; try/);
    expect(twilioUserMessage(21451, 400, "Invalid area code", { areaCode: "099" })).toMatch(/^099 is not a valid area code/);
    expect(twilioUserMessage(20404, 404, "not found")).toMatch(/could not find/);
    expect(twilioUserMessage(21999, 400, "Something odd")).toBe("Twilio refused the request (error 21999): Something odd");
  });
});

describe("releaseNumber", () => {
  it("204 → released; 20404 → already_released; anything else is thrown", async () => {
    const gone = scripted(() => new Response(null, { status: 204 }), twilioError(404, 20404, "The requested resource was not found"));
    const twilio = client(gone.fetch);
    expect(await twilio.releaseNumber(`PN${"1".repeat(32)}`)).toBe("released");
    expect(await twilio.releaseNumber(`PN${"1".repeat(32)}`)).toBe("already_released");
    expect(gone.calls[0]!.request.method).toBe("DELETE");
    expect(gone.calls[0]!.request.url).toBe(
      `https://api.twilio.test/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers/PN${"1".repeat(32)}.json`,
    );

    const refused = scripted(twilioError(401, 20003, "Authenticate"));
    expect(twilioErrorCode(await rejection(client(refused.fetch).releaseNumber(`PN${"1".repeat(32)}`)))).toBe(20003);
  });
});
