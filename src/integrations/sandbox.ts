import type { FetchLike, UpstreamService } from "./http";

/**
 * All the production worker knows of the upstream simulator. The simulator itself lives outside it, in
 * dev/sandbox/, and only the dev entry (dev/index.ts, with the config `npm run dev` and the tests use) exports its
 * Durable Object and binds it as UPSTREAM_SANDBOX. With UPSTREAM_MODE=sandbox the upstream clients send every call
 * to that binding; without the binding, loadSettings refuses sandbox mode.
 */
export const SANDBOX_BINDING = "UPSTREAM_SANDBOX";
/** The one simulator instance: every simulated account lives in it. */
export const SANDBOX_INSTANCE = "sandbox";
/** Which API a call was meant for (the simulator answers all of them at one address). */
export const SANDBOX_SERVICE_HEADER = "x-sandbox-service";
/** Google's consent page cannot be simulated in the browser: in sandbox mode the OAuth URL points here instead. */
export const SANDBOX_GOOGLE_AUTHORIZE_PATH = "/sandbox/google/authorize";

/** The shape of the dev entry's UPSTREAM_SANDBOX binding, as far as the upstream clients use it. */
export interface SandboxBinding {
  getByName(name: string): { fetch(request: Request): Promise<Response> };
}

/** Calls to `service`, answered by the simulator bound in `env` (present: loadSettings checked it in sandbox mode). */
export function sandboxFetch(service: UpstreamService, env: { UPSTREAM_SANDBOX?: SandboxBinding }): FetchLike {
  const sandbox = env.UPSTREAM_SANDBOX;
  if (!sandbox)
    throw new Error(`UPSTREAM_MODE is "sandbox" but nothing is bound as ${SANDBOX_BINDING}: the sandbox exists only in the dev entry`);
  return (request) => {
    const routed = new Request(request);
    routed.headers.set(SANDBOX_SERVICE_HEADER, service);
    return sandbox.getByName(SANDBOX_INSTANCE).fetch(routed);
  };
}
