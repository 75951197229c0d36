import { env } from "cloudflare:workers";
import { createDb, type Db } from "../../src/db/client";
import { createLogger } from "../../src/platform/log";
import { loadSettings } from "../../src/platform/settings";
import { createUpstreams } from "../../src/integrations/index";
import type { AssistantDeps } from "../../src/features/assistants/assistants";
import { NO_ORG_NUMBERS } from "../../src/features/numbers/acquisition";
import { createServices } from "../../src/services";

/** The services' dependencies as a request would build them, against the test D1 and the sandbox. */
export function serviceDeps(overrides: Partial<AssistantDeps> = {}): AssistantDeps {
  const settings = loadSettings(env);
  const log = createLogger({ test: true });
  return {
    db: createDb(env.DB),
    vapi: createUpstreams(env, settings, log).vapi,
    settings,
    log,
    webhookUrl: "https://switchboard.test/webhooks/vapi",
    orgNumbers: NO_ORG_NUMBERS,
    // Services driven directly, without a request, start no trackers (the tests that need one start it).
    startTracking: async () => undefined,
    // Background work (edge routing's fallback sync) runs on services of its own, awaited.
    inBackground: (task) => createServices({ env, settings, log, publicUrl: "https://switchboard.test" }).inBackground(task),
    ...overrides,
  };
}

/** A database whose `batch` fails on the given call numbers (1-based), like D1 being unavailable then. */
export function failingBatches(db: Db, failOn: number[]): Db {
  let calls = 0;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return (items: unknown) => {
          calls++;
          if (failOn.includes(calls)) return Promise.reject(new Error("D1_ERROR: injected storage failure"));
          return (target.batch as (i: unknown) => Promise<unknown>)(items);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}
