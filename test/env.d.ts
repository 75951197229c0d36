/// <reference types="vite/client" />
// import.meta.glob in the tests: vite transforms them (test/features/system/docs.test.ts lists the static assets with it).
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
