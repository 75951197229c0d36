import type { Hono } from "hono";
import type { hc } from "hono/client";
import type { BlankEnv } from "hono/types";
import type { SwitchboardSchema } from "./schema.js";

export type { Assistant, AssistantList, AssistantPhone, ErrorBody, SwitchboardSchema } from "./schema.js";

/** The API as hono/client sees it: every route, its input and its answers per status. */
export type SwitchboardApi = Hono<BlankEnv, SwitchboardSchema, "/">;

/** What `createSwitchboardClient` answers: `api.api.assistants.$post(…)`, `api.health.$get()`, … */
export type SwitchboardClient = ReturnType<typeof hc<SwitchboardApi>>;

export interface SwitchboardClientOptions {
  /** The signed-in user's JWT, or a function answering the current one (called on every request: refreshed tokens). */
  token: string | (() => string | Promise<string>);
  /** Another fetch (tests, service bindings); the global one by default. */
  fetch?: typeof fetch;
}

/**
 * A typed client of the Switchboard API at `baseUrl`: paths, bodies and responses are checked by TypeScript.
 *
 *   const api = createSwitchboardClient("https://switchboard.example.com", { token: () => session.jwt });
 *   const res = await api.api.assistants.$post({ json: { business_data: { business_name: "Acme Dental" } }, header: {} });
 *   if (res.status === 201) console.log((await res.json()).phone_status);
 *
 * The assistant list is paged (up to 500 a page): pass `next_cursor` back as `cursor` until it is null.
 */
export declare function createSwitchboardClient(baseUrl: string, options: SwitchboardClientOptions): SwitchboardClient;
