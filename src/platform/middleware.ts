import { createMiddleware } from "hono/factory";
import { RequestCost } from "../db/client";
import { createServices } from "../services";
import { authenticate, hasRole, type Role } from "./auth";
import { type AppContext, type AppEnv, publicUrl, waitUntilOf } from "./context";
import { ApiError } from "./errors";
import { createLogger } from "./log";
import { loadSettings } from "./settings";

/** The request's services, from its settings, log and cost counter (cheap: clients are built on first use). */
function setServices(c: AppContext) {
  const services = createServices({
    env: c.env,
    settings: c.var.settings,
    log: c.var.log,
    cost: c.var.cost,
    publicUrl: publicUrl(c),
    waitUntil: waitUntilOf(c),
  });
  c.set("services", services);
  c.set("db", services.db);
}

/** Settings, a logger tagged with the request id, the cost counter, D1 and the services. */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const settings = loadSettings(c.env);
  const cost = new RequestCost();
  const log = createLogger({ request_id: c.var.requestId });
  c.set("settings", settings);
  c.set("cost", cost);
  c.set("log", log);
  setServices(c);
  const started = Date.now();
  await next();
  // What this request cost, for operators and the benchmark.
  c.header("X-D1-Round-Trips", String(cost.d1));
  c.header("X-Upstream-Calls", String(cost.upstreamTotal));
  const status = c.res.status;
  const fields = { method: c.req.method, path: c.req.path, status, ms: Date.now() - started, d1: cost.d1, upstream: cost.upstream };
  if (status >= 500) log.error("request", fields);
  else log.info("request", fields);
});

/** Verifies the bearer token and requires at least `role`; the caller lands in `c.var.caller`. */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const caller = await authenticate(c.req.header("Authorization"), c.var.settings);
    if (!hasRole(caller, role)) {
      throw new ApiError(403, "forbidden", `This action needs the ${role} role; your token has ${caller.role}.`);
    }
    c.set("caller", caller);
    c.set("log", c.var.log.child({ org_id: caller.orgId, user_id: caller.userId }));
    setServices(c); // again, so the rules log with the caller
    await next();
  });

/** Bodies of writes must be JSON; anything else gets a 415 that says so (rather than a confusing 400). */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (["POST", "PUT", "PATCH"].includes(c.req.method)) {
    const length = c.req.header("Content-Length");
    const type = c.req.header("Content-Type") ?? "";
    const hasBody = length ? Number(length) > 0 : c.req.raw.body !== null;
    if (hasBody && !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
      throw new ApiError(415, "unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.");
    }
  }
  await next();
});
