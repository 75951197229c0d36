import { z } from "zod";
import { SANDBOX_BINDING } from "../integrations/sandbox";
import { createLogger } from "./log";

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const url = (fallback: string) => z.url({ message: "must be an absolute http(s) URL" }).default(fallback);
const optionalUrl = z.url({ message: "must be an absolute http(s) URL" }).optional();
const optionalString = z.string().min(1).optional();
const base64Key = z.string().refine((v) => {
  try {
    return atob(v.trim()).length === 32;
  } catch {
    return false;
  }
}, "must be base64 of exactly 32 bytes (generate one with `openssl rand -base64 32`)");

/** Every setting (README, "Settings"), with its default. Empty strings count as unset. */
const settingsSchema = z
  .object({
    UPSTREAM_MODE: z.enum(["sandbox", "live"]).default("live"),
    VAPI_API_URL: url("https://api.vapi.ai"),
    TWILIO_API_URL: url("https://api.twilio.com"),
    GOOGLE_OAUTH_URL: url("https://accounts.google.com/o/oauth2/v2/auth"),
    GOOGLE_TOKEN_URL: url("https://oauth2.googleapis.com/token"),
    GOOGLE_REVOKE_URL: url("https://oauth2.googleapis.com/revoke"),
    GOOGLE_JWKS_URL: url("https://www.googleapis.com/oauth2/v3/certs"),
    GOOGLE_API_URL: url("https://www.googleapis.com"),
    VAPI_API_KEY: z.string().min(1),
    VAPI_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters"),
    VAPI_FREE_NUMBER_LIMIT: z.coerce.number().int().min(0).default(10),
    POLL_INTERVAL_SECONDS: positiveInt(15),
    POLL_MAX_ATTEMPTS: positiveInt(40),
    UNUSED_NUMBER_DAYS: positiveInt(30),
    AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    AUTH_JWKS_URL: optionalUrl,
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    AUTH_ORG_CLAIM: z.string().min(1).default("org_id"),
    AUTH_ROLE_CLAIM: z.string().min(1).default("role"),
    ENCRYPTION_KEY: base64Key,
    ENCRYPTION_KEY_PREVIOUS: base64Key.optional(),
    GOOGLE_CLIENT_ID: optionalString,
    GOOGLE_CLIENT_SECRET: optionalString,
    GOOGLE_REDIRECT_URI: optionalUrl,
    APP_URL: optionalUrl,
    PUBLIC_URL: optionalUrl,
    ALLOWED_ORIGINS: csv,
    ALERT_WEBHOOK_URL: optionalUrl,
    RATE_LIMITS_ENABLED: z
      .enum(["true", "false"], { message: 'must be "true" or "false"' })
      .default("true")
      .transform((v) => v === "true"),
    /** `direct`: each number carries its assistant in Vapi; `edge`: numbers stay bare and Switchboard answers `assistant-request`. */
    ROUTING_MODE: z.enum(["direct", "edge"]).default("direct"),
    /** Concurrent calls the Vapi account allows, shared between organisations (their caps come on top). */
    VAPI_CONCURRENCY_LIMIT: positiveInt(10),
    /** The daily reconciliation adopts unassigned numbers made outside Switchboard into the pool. */
    ADOPT_UNASSIGNED_NUMBERS: z
      .enum(["true", "false"], { message: 'must be "true" or "false"' })
      .default("false")
      .transform((v) => v === "true"),
    TWILIO_NUMBER_MONTHLY_COST: z.coerce.number().min(0).default(1.15),
    UPSTREAM_TIMEOUT_MS: positiveInt(10_000),
    /** Tool calls are answered within this, whatever Google does (Vapi gives up after 20 s). */
    TOOL_CALL_DEADLINE_MS: positiveInt(15_000),
    UPSTREAM_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    UPSTREAM_RETRY_BASE_MS: positiveInt(500),
    SANDBOX_ACTIVATION_DELAY_SECONDS: z.coerce.number().min(0).default(30),
    SANDBOX_VAPI_NUMBER_LIMIT: z.coerce.number().int().min(0).default(10),
  })
  .superRefine((s, ctx) => {
    if (!s.AUTH_JWT_SECRET && !s.AUTH_JWKS_URL) {
      ctx.addIssue({ code: "custom", path: ["AUTH_JWT_SECRET"], message: "set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (remote keys)" });
    }
  });

export type Settings = z.infer<typeof settingsSchema>;

export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`Setting ${setting} ${problem}. Fix it in wrangler.toml, .dev.vars or with \`wrangler secret put ${setting}\`.`);
    this.name = "SettingsError";
  }
}

const cache = new WeakMap<object, Settings | SettingsError>();
const logged = new Set<string>();

/** Parses the environment once per env object; a bad setting throws a SettingsError naming it (logged once). */
export function loadSettings(env: Record<string, unknown>): Settings {
  let parsed = cache.get(env);
  if (!parsed) {
    parsed = parseSettings(env);
    cache.set(env, parsed);
  }
  if (parsed instanceof SettingsError) {
    if (!logged.has(parsed.message)) {
      logged.add(parsed.message);
      createLogger().error("settings_invalid", { setting: parsed.setting, message: parsed.message });
    }
    throw parsed;
  }
  return parsed;
}

function parseSettings(env: Record<string, unknown>): Settings | SettingsError {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === "string" && value.trim() === "") continue;
    raw[key] = typeof value === "string" ? value.trim() : value;
  }
  const result = settingsSchema.safeParse(raw);
  if (result.success) return sandboxAvailable(result.data, env) ?? result.data;
  const issue = result.error.issues[0]!;
  const setting = String(issue.path[0] ?? "settings");
  const problem = raw[setting] === undefined ? `is missing (${issue.message})` : `is invalid: ${issue.message}`;
  return new SettingsError(setting, problem);
}

/** Sandbox mode needs the simulator, which only the dev entry binds: a production config asking for it is refused. */
function sandboxAvailable(settings: Settings, env: Record<string, unknown>): SettingsError | null {
  if (settings.UPSTREAM_MODE !== "sandbox" || env[SANDBOX_BINDING] !== undefined) return null;
  return new SettingsError(
    "UPSTREAM_MODE",
    `is "sandbox", but the upstream sandbox exists only in the dev entry (dev/index.ts, run by \`npm run dev\` and the tests) and nothing is bound as ${SANDBOX_BINDING}; set it to "live"`,
  );
}
