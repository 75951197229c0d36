import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { TEST_SETTINGS } from "../settings";
import { token } from "./api";

const app = createApp();

/**
 * Calls the worker with settings of its own (e.g. `ROUTING_MODE`), as a deployment with them would run: with the
 * token given (a member of org-a by default), or as Vapi (`X-Vapi-Secret`) with `token: null`.
 */
export async function sendWith(
  vars: Record<string, string>,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const bearer = options.token === undefined ? await token() : options.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  else headers["X-Vapi-Secret"] = TEST_SETTINGS.VAPI_WEBHOOK_SECRET;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return app.request(`https://switchboard.test${path}`, { method, headers, body }, { ...env, ...vars });
}
