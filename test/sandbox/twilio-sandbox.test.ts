import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/platform/log";
import { loadSettings } from "../../src/platform/settings";
import { createTwilio, createUpstreams } from "../../src/integrations/index";
import { UpstreamError } from "../../src/integrations/http";
import { TwilioApiError, type TwilioCredentials } from "../../src/integrations/twilio";
import { sandbox } from "../helpers/api";
import { rejection } from "../helpers/upstream";

const DEMO = { accountSid: `AC${"0".repeat(32)}`, authToken: "sandbox-twilio-auth-token" };

const twilio = (credentials: TwilioCredentials) => createTwilio(env, loadSettings(env), createLogger(), credentials);
const vapi = () => createUpstreams(env, loadSettings(env), createLogger()).vapi;
const hex = () => crypto.randomUUID().replaceAll("-", "");

/** A fresh account of its own for each test: the sandbox's state is shared by the whole file. */
async function account(options: { type?: "Trial" | "Full"; numbers?: string[]; apiKey?: boolean } = {}) {
  const credentials = { accountSid: `AC${hex()}`, authToken: `token-${hex()}` };
  const apiKey = { sid: `SK${hex()}`, secret: `secret-${hex()}` };
  await sandbox().seedTwilioAccount({ ...credentials, type: options.type, numbers: options.numbers, apiKeys: [apiKey] });
  return { credentials, apiKey };
}

afterEach(async () => {
  await sandbox().clearFaults();
});

describe("Twilio sandbox: accounts and credentials", () => {
  it("the demo account exists with no setup and owns its two numbers", async () => {
    const demo = twilio(DEMO);
    expect(await demo.fetchAccount()).toEqual({ sid: DEMO.accountSid, friendlyName: expect.any(String), status: "active", type: "Full" });
    const owned = (await demo.listIncomingNumbers()).map((n) => n.phoneNumber);
    expect(owned).toEqual(expect.arrayContaining(["+14155550101", "+14155550102"]));
    const found = await demo.findIncomingNumber("+14155550101");
    expect(found).toMatchObject({ phoneNumber: "+14155550101", capabilities: { voice: true } });
    expect(found!.sid).toMatch(/^PN[0-9a-f]{32}$/);
  });

  it("a wrong token is refused with 20003 (401) and a message to check the credentials", async () => {
    const error = await rejection(twilio({ ...DEMO, authToken: "wrong" }).fetchAccount(), TwilioApiError);
    expect(error).toMatchObject({ code: 20003, status: 401, service: "twilio", failure: "http" });
    expect(error.userMessage).toMatch(/^Twilio rejected the Account SID and Auth Token/);
  });

  it("an API key of the account works; credentials of one account cannot read another", async () => {
    const { credentials, apiKey } = await account();
    const viaKey = twilio({ accountSid: credentials.accountSid, apiKeySid: apiKey.sid, apiKeySecret: apiKey.secret });
    expect((await viaKey.fetchAccount()).sid).toBe(credentials.accountSid);

    const crossed = twilio({ accountSid: DEMO.accountSid, apiKeySid: apiKey.sid, apiKeySecret: apiKey.secret });
    expect((await rejection(crossed.fetchAccount(), TwilioApiError)).code).toBe(20003);
    const wrongSecret = twilio({ accountSid: credentials.accountSid, apiKeySid: apiKey.sid, apiKeySecret: "nope" });
    expect((await rejection(wrongSecret.listIncomingNumbers(), TwilioApiError)).status).toBe(401);
  });
});

describe("Twilio sandbox: numbers", () => {
  it("searching area code 512 offers at most 5 voice numbers there; 533 has none", async () => {
    const { credentials } = await account();
    const client = twilio(credentials);
    const found = await client.searchLocalNumbers({ areaCode: "512", limit: 10 });
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThanOrEqual(5);
    for (const n of found)
      expect(n).toMatchObject({ phoneNumber: expect.stringMatching(/^\+1512\d{7}$/), locality: "Austin", region: "TX" });
    expect(await client.searchLocalNumbers({ areaCode: "533" })).toEqual([]);

    const searches = (await sandbox().requests("twilio")).filter((r) => r.path.includes("/AvailablePhoneNumbers/US/Local.json"));
    expect(searches.at(-1)!.path).toContain("VoiceEnabled=true");
  });

  it("a bought number is answered 201 and then listed; it leaves the search results", async () => {
    const { credentials } = await account();
    const client = twilio(credentials);
    const [candidate] = await client.searchLocalNumbers({ areaCode: "617" });
    const bought = await client.buyNumber({ phoneNumber: candidate!.phoneNumber, friendlyName: "Switchboard org-a" });
    expect(bought).toMatchObject({ phoneNumber: candidate!.phoneNumber, friendlyName: "Switchboard org-a", capabilities: { voice: true } });
    expect(bought.sid).toMatch(/^PN[0-9a-f]{32}$/);

    const purchase = (await sandbox().requests("twilio")).filter((r) => r.method === "POST").at(-1)!;
    expect(purchase.status).toBe(201);
    expect((await client.listIncomingNumbers()).map((n) => n.sid)).toEqual([bought.sid]);
    expect(await sandbox().twilioNumbers(credentials.accountSid)).toEqual([
      { sid: bought.sid, phoneNumber: candidate!.phoneNumber, friendlyName: "Switchboard org-a" },
    ]);
    expect((await client.searchLocalNumbers({ areaCode: "617" })).map((n) => n.phoneNumber)).not.toContain(candidate!.phoneNumber);
  });

  it("a number someone else took is still offered, answers 21422, and the next candidate can be bought", async () => {
    const { credentials } = await account();
    const client = twilio(credentials);
    const [first, second] = await client.searchLocalNumbers({ areaCode: "212" });
    await sandbox().markTwilioNumberTaken(first!.phoneNumber);
    expect((await client.searchLocalNumbers({ areaCode: "212" }))[0]!.phoneNumber).toBe(first!.phoneNumber);

    const error = await rejection(client.buyNumber({ phoneNumber: first!.phoneNumber, friendlyName: "x" }), TwilioApiError);
    expect(error).toMatchObject({ code: 21422, status: 400 });
    expect(error.userMessage).toContain(first!.phoneNumber);
    expect((await client.buyNumber({ phoneNumber: second!.phoneNumber, friendlyName: "x" })).phoneNumber).toBe(second!.phoneNumber);
  });

  it("Twilio's magic test numbers: +15005550000 is unavailable, +15005550001 and non-E.164 are invalid", async () => {
    const client = twilio((await account()).credentials);
    expect((await rejection(client.buyNumber({ phoneNumber: "+15005550000", friendlyName: "x" }), TwilioApiError)).code).toBe(21422);
    expect((await rejection(client.buyNumber({ phoneNumber: "+15005550001", friendlyName: "x" }), TwilioApiError)).code).toBe(21421);
    expect((await rejection(client.buyNumber({ phoneNumber: "415-555-0100", friendlyName: "x" }), TwilioApiError)).code).toBe(21421);
  });

  it("a trial account may hold one number: the second purchase answers 21404", async () => {
    const { credentials } = await account({ type: "Trial" });
    const client = twilio(credentials);
    const [first, second] = await client.searchLocalNumbers({ areaCode: "312" });
    await client.buyNumber({ phoneNumber: first!.phoneNumber, friendlyName: "x" });
    const error = await rejection(client.buyNumber({ phoneNumber: second!.phoneNumber, friendlyName: "x" }), TwilioApiError);
    expect(error).toMatchObject({ code: 21404, status: 400 });
    expect(error.userMessage).toMatch(/^Trial Twilio accounts may hold only one number; upgrade/);
    expect(await sandbox().twilioNumbers(credentials.accountSid)).toHaveLength(1);
  });

  it("release answers 204, and releasing again is already_released", async () => {
    const { credentials } = await account({ numbers: [`+1303555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`] });
    const client = twilio(credentials);
    const [owned] = await client.listIncomingNumbers();
    expect(await client.releaseNumber(owned!.sid)).toBe("released");
    expect((await sandbox().requests("twilio")).at(-1)).toMatchObject({ method: "DELETE", status: 204 });
    expect(await client.releaseNumber(owned!.sid)).toBe("already_released");
    expect(await client.listIncomingNumbers()).toEqual([]);
  });

  it("lists more than a page by following the sandbox's next_page_uri", async () => {
    const base = 1000 + Math.floor(Math.random() * 8000);
    const numbers = Array.from({ length: 130 }, (_, i) => `+1808${base + i}${String(i).padStart(3, "0")}`);
    const client = twilio((await account({ numbers })).credentials);
    await sandbox().clearRequests();
    const listed = await client.listIncomingNumbers();
    expect(listed.map((n) => n.phoneNumber).sort()).toEqual([...numbers].sort());
    const pages = (await sandbox().requests("twilio")).map((r) => new URL(`https://x${r.path}`).searchParams.get("Page"));
    expect(pages).toEqual([null, "1"]);
  });

  it("an injected 429 is retried and the call then succeeds", async () => {
    const client = twilio((await account()).credentials);
    await sandbox().injectFault({ service: "twilio", method: "GET", count: 1, kind: "status", status: 429 });
    expect(await client.listIncomingNumbers()).toEqual([]);
    const calls = (await sandbox().requests("twilio")).slice(-2).map((r) => r.status);
    expect(calls).toEqual([429, 200]);
  });
});

describe("Vapi sandbox: importing a Twilio number", () => {
  const importing = (body: Record<string, string>) =>
    vapi().createPhoneNumber({ provider: "twilio", ...(body as { number: string; twilioAccountSid: string }) });

  async function vapiRefusal(promise: Promise<unknown>): Promise<UpstreamError> {
    try {
      await promise;
    } catch (error) {
      expect(error).toBeInstanceOf(UpstreamError);
      return error as UpstreamError;
    }
    throw new Error("expected an UpstreamError");
  }

  it("accepts a number the account owns, with its token or its API key, active at once", async () => {
    const owned = [`+1720555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`];
    const { credentials, apiKey } = await account({ numbers: owned });
    const imported = await importing({
      number: owned[0]!,
      twilioAccountSid: credentials.accountSid,
      twilioAuthToken: credentials.authToken,
    });
    expect(imported).toMatchObject({ provider: "twilio", status: "active", number: owned[0] });

    const viaKey = await importing({
      number: owned[0]!,
      twilioAccountSid: credentials.accountSid,
      twilioApiKey: apiKey.sid,
      twilioApiSecret: apiKey.secret,
    });
    expect(viaKey.status).toBe("active");
  });

  it("refuses a number the account does not own, and wrong credentials", async () => {
    const { credentials } = await account();
    const unowned = await vapiRefusal(
      importing({ number: "+14155550101", twilioAccountSid: credentials.accountSid, twilioAuthToken: credentials.authToken }),
    );
    expect(unowned).toMatchObject({ status: 400, message: "Twilio Error: Number Not Found On Twilio Account" });

    const wrong = await vapiRefusal(importing({ number: "+14155550101", twilioAccountSid: DEMO.accountSid, twilioAuthToken: "wrong" }));
    expect(wrong.status).toBe(400);
    expect(wrong.message).toMatch(/^Twilio Error: Authentication failed/);
  });
});
