import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/platform/log";
import { loadSettings } from "../../src/platform/settings";
import { createUpstreams } from "../../src/integrations/index";
import { sandbox } from "../helpers/api";
import { rejection } from "../helpers/upstream";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const vapi = () => createUpstreams(env, loadSettings(env), silent).vapi;
const names = async () => (await sandbox().vapiAssistants()).map((a) => a.name);

/** The sandbox's faults are what the failure tests stand on: they must do exactly what they say. */
describe("sandbox fault injection", () => {
  afterEach(async () => {
    await sandbox().clearFaults();
  });

  it("a timeout without afterProcessing: no answer, and Vapi did nothing", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/assistant", count: 1, kind: "timeout" });
    const error = await rejection(vapi().createAssistant({ name: "Never made" }));
    expect(error.failure).toBe("timeout");
    expect(await names()).not.toContain("Never made");
  });

  it("a timeout with afterProcessing: no answer, but Vapi made the assistant", async () => {
    await sandbox().injectFault({
      service: "vapi",
      method: "POST",
      pathPrefix: "/assistant",
      count: 1,
      kind: "timeout",
      afterProcessing: true,
    });
    const error = await rejection(vapi().createAssistant({ name: "Made anyway" }));
    expect(error.failure).toBe("timeout");
    expect(await names()).toContain("Made anyway");
  });

  it("a status fault hits only matching calls, `count` times, with Retry-After when asked", async () => {
    const stub = sandbox();
    await stub.injectFault({ service: "vapi", method: "POST", pathPrefix: "/phone-number", count: 1, kind: "status", status: 400 });
    // A call to another path or with another method is not affected.
    const made = await vapi().createAssistant({ name: "Unaffected" });
    expect((await vapi().getAssistant(made.id)).name).toBe("Unaffected");

    await stub.injectFault({
      service: "vapi",
      method: "GET",
      pathPrefix: "/assistant/",
      count: 1,
      kind: "status",
      status: 429,
      retryAfterSeconds: 60,
    });
    const limited = await rejection(vapi().getAssistant(made.id));
    expect(limited).toMatchObject({ status: 429, retryAfterSeconds: 60 });
    // Consumed: the next call goes through.
    expect((await vapi().getAssistant(made.id)).id).toBe(made.id);
  });

  it("clearFaults removes pending faults; requests are recorded with their status", async () => {
    const stub = sandbox();
    await stub.injectFault({ service: "vapi", count: 5, kind: "status", status: 500 });
    await stub.clearFaults();
    await stub.clearRequests();
    const made = await vapi().createAssistant({ name: "Recorded" });
    const records = await stub.requests("vapi");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ service: "vapi", method: "POST", path: "/assistant", status: 201, body: { name: "Recorded" } });
    await vapi().deleteAssistant(made.id);
  });

  it("validates bodies like Vapi: a refused body is a 400 with Vapi's messages", async () => {
    const error = await rejection(vapi().createAssistant({ name: "x", serverUrl: "https://legacy" } as never));
    expect(error).toMatchObject({ status: 400, message: "property serverUrl should not exist" });
  });
});
