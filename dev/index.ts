// The development entry, used by `npm run dev` and the tests (wrangler.dev.jsonc, written by scripts/dev-config.mjs
// from wrangler.toml): the production worker of src/index.ts, plus the upstream simulator (its Durable Object, and
// the consent page that stands in for Google's). Production deploys src/index.ts, which imports nothing from here.
import { createApp } from "../src/app";
import worker from "../src/index";
import type { DevEnv } from "./env";
import { sandboxRouter } from "./sandbox/routes";

export { CallCounter, ProvisioningTracker } from "../src/index";
export { UpstreamSandbox } from "./sandbox/upstream-sandbox";

const app = createApp({ devRoutes: sandboxRouter });

export default {
  ...worker,
  fetch: app.fetch,
} satisfies ExportedHandler<DevEnv>;
