import { createApp } from "./app";
import type { Env } from "./env";
import { runScheduled } from "./jobs/scheduled";

export { ProvisioningTracker } from "./features/provisioning/tracker";
export { CallCounter } from "./features/routing/call-counter";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    await runScheduled(controller, env, ctx);
  },
} satisfies ExportedHandler<Env>;
