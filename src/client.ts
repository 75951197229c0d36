import { hc } from "hono/client";
import type { AppType } from "./app";

export type { AppType };

export interface SwitchboardClientOptions {
  /** The signed-in user's JWT, or a function returning the current one (refreshed tokens). */
  token: string | (() => string | Promise<string>);
  /** Another fetch (tests, service bindings); the global one by default. */
  fetch?: typeof fetch;
}

/**
 * A typed client for the frontend: paths, bodies and responses are checked by TypeScript against the API.
 *
 *   const api = createSwitchboardClient("https://switchboard.example.com", { token: () => session.jwt });
 *   const res = await api.api.assistants.$post({ json: { business_data: { business_name: "Acme Dental" } }, header: {} });
 *   if (res.ok) console.log((await res.json()).vapi_phone_number);
 *
 * The assistant list is paged (up to 500 a page): pass `next_cursor` back as `cursor` until it is null.
 *
 *   const page = await (await api.api.assistants.$get({ query: { limit: "100", cursor } })).json();
 */
export function createSwitchboardClient(baseUrl: string, options: SwitchboardClientOptions) {
  return hc<AppType>(baseUrl, {
    fetch: options.fetch,
    headers: async () => ({
      Authorization: `Bearer ${typeof options.token === "function" ? await options.token() : options.token}`,
    }),
  });
}
