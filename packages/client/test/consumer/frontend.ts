// A frontend's use of the package, type-checked by package.test.mjs against the packed package with only `hono`
// beside it: no Switchboard source, no Worker types. Each @ts-expect-error is a mistake the types must catch.
import { type Assistant, createSwitchboardClient, type ErrorBody } from "@switchboard/client";

declare const session: { jwt: string };
const api = createSwitchboardClient("https://switchboard.example.com", { token: () => session.jwt });

export async function createReceptionist(): Promise<Assistant | ErrorBody> {
  const created = await api.api.assistants.$post({
    json: { business_data: { business_name: "Acme Dental", timezone: "America/New_York" }, area_code: "212" },
    header: { "idempotency-key": crypto.randomUUID() },
  });
  if (created.status === 201) {
    const assistant = await created.json();
    const status: "active" | "provisioning" | "stuck" | "none" = assistant.phone_status;
    const digits: string | null = assistant.vapi_phone_number;
    void [status, digits];
    return assistant;
  }
  const { error } = await created.json();
  const code: string = error.code;
  void code;
  return { error };
}

export async function everyAssistant(): Promise<Assistant[]> {
  const all: Assistant[] = [];
  let cursor: string | undefined;
  do {
    const response = await api.api.assistants.$get({ query: { limit: "100", cursor } });
    if (!response.ok) throw new Error(`list: ${response.status}`);
    const page = await response.json();
    all.push(...page.assistants);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

export async function mistakes(id: string) {
  // @ts-expect-error a path the API does not have
  await api.api.assistant.$get();
  // @ts-expect-error business_data is required
  await api.api.assistants.$post({ json: { area_code: "212" }, header: {} });
  // @ts-expect-error a number where the API takes a string
  await api.api.assistants[":id"].$patch({ param: { id }, json: { name: 42 } });
  // @ts-expect-error the assistant route needs its id
  await api.api.assistants[":id"].$get({});
  const phone = await api.api.assistants[":id"].phone.$get({ param: { id } });
  if (phone.status === 200) {
    const body = await phone.json();
    // @ts-expect-error the phone answer has no business_data
    void body.business_data;
  }
}
