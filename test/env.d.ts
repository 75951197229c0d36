import type { DevEnv } from "../dev/env";

declare global {
  namespace Cloudflare {
    interface Env extends DevEnv {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    }
    interface GlobalProps {
      mainModule: typeof import("../dev/index");
      durableNamespaces: "ProvisioningTracker" | "UpstreamSandbox";
    }
  }
}
