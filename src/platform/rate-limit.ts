import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/** The window of the COSTLY_RATE_LIMITER binding (wrangler.toml `simple.period`). */
const RATE_LIMIT_PERIOD_SECONDS = 60;

/**
 * Limits a costly route per organisation (each route its own bucket) with the Workers Rate Limiting binding.
 * It is per Cloudflare location and eventually consistent: a brake on runaway clients, not exact accounting.
 * Runs after authentication, so the key is the caller's organisation (or, for org-less admins, the user).
 */
export const rateLimit = (bucket: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const limiter = c.env.COSTLY_RATE_LIMITER;
    if (c.var.settings.RATE_LIMITS_ENABLED && limiter) {
      const who = c.var.caller.orgId ?? `user:${c.var.caller.userId}`;
      const { success } = await limiter.limit({ key: `${bucket}:${who}` });
      if (!success) {
        c.var.log.warn("rate_limited", { bucket });
        throw new ApiError(
          429,
          "rate_limited",
          `Too many requests of this kind for your organization. Try again in ${RATE_LIMIT_PERIOD_SECONDS} seconds.`,
          { bucket, retry_after_seconds: RATE_LIMIT_PERIOD_SECONDS },
          { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) },
        );
      }
    }
    await next();
  });
