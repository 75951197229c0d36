import type { Env } from "../src/env";
import type { UpstreamSandbox } from "./sandbox/upstream-sandbox";

/** The dev entry's bindings: the production worker's, and the upstream simulator it adds (see scripts/dev-config.mjs). */
export interface DevEnv extends Env {
  UPSTREAM_SANDBOX: DurableObjectNamespace<UpstreamSandbox>;
}
