import { beforeEach, describe, expect, it } from "vitest";
import { SANDBOX_VAPI_RESOURCES_PATH } from "../../dev/sandbox/routes";
import { listAllFromVapi } from "../../src/integrations/vapi-listing";
import { call, sandbox } from "../helpers/api";
import { opsDeps } from "../helpers/operations";
import { resetState } from "../helpers/pool";

beforeEach(resetState);

describe("a large Vapi account put into the simulator at once", () => {
  it("holds the numbers and assistants as given; lists page them newest first; free numbers count against its limit", async () => {
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const phoneNumbers = Array.from({ length: 25 }, (_, i) => ({
      id: crypto.randomUUID(),
      provider: i < 20 ? "vapi" : "twilio",
      status: "active",
      number: `+1415555${String(1000 + i)}`,
      name: `sb-${crypto.randomUUID()}`,
      createdAt: at(i),
    }));
    const assistants = [{ id: crypto.randomUUID(), name: "Front desk", metadata: { switchboardAssistantId: "a-1" }, createdAt: at(0) }];
    const res = await call("POST", SANDBOX_VAPI_RESOURCES_PATH, { token: null, body: { phoneNumbers, assistants } });
    expect(await res.json()).toEqual({ put: 26 });

    const { vapi } = await opsDeps();
    const listing = await listAllFromVapi((filter) => vapi.listPhoneNumbers(filter), 10);
    expect(listing.complete).toBe(true);
    expect(listing.items.map((n) => n.id).sort()).toEqual(phoneNumbers.map((n) => n.id).sort());
    const firstPage = await vapi.listPhoneNumbers({ limit: 3, createdAtLe: at(10) });
    expect(firstPage.map((n) => n.createdAt)).toEqual([at(10), at(9), at(8)]);
    expect((await vapi.getPhoneNumber(phoneNumbers[0]!.id)).name).toBe(phoneNumbers[0]!.name);
    expect(await vapi.listAssistants()).toEqual([
      expect.objectContaining({ id: assistants[0]!.id, metadata: { switchboardAssistantId: "a-1" } }),
    ]);
    // The 20 free ones count against the simulated limit (SANDBOX_VAPI_NUMBER_LIMIT, 10): Vapi refuses another.
    await expect(vapi.createPhoneNumber({ provider: "vapi", numberDesiredAreaCode: "415" })).rejects.toThrow(/Free number limit reached/);
    expect(await sandbox().vapiPhoneNumbers()).toHaveLength(25);
  });
});
