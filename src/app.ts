import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./platform/errors";
import type { AppEnv } from "./platform/context";
import { createLogger } from "./platform/log";
import { requestContext, requireJsonBody } from "./platform/middleware";
import { createRouter } from "./platform/router";
import { withAccessStated } from "./platform/openapi";
import { loadSettings, SettingsError } from "./platform/settings";
import { UpstreamError } from "./integrations/http";
import { assistantsRouter } from "./features/assistants/routes";
import { docsRouter } from "./features/system/docs";
import { dashboardRouter } from "./features/admin/dashboard/page";
import { healthRouter } from "./features/system/health";
import { adminRouter } from "./features/admin/routes";
import { organizationRouter } from "./features/organization/routes";
import { calendarRouter } from "./features/calendar/routes";
import { vapiSecret, webhooksRouter } from "./features/webhooks/routes";
import { upstreamFailure } from "./platform/upstream-failure";
import { VERSION } from "./platform/version";

/** Large enough for any business profile; a 100 KB body is refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Vapi's end-of-call reports carry transcripts; 1 MB is generous for them and bounds everything else. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

const limitBody = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `The body is larger than ${maxSize / 1024} KB.`);
    },
  });

interface AppOptions {
  /** Routes only the dev entry serves (dev/index.ts: the sandbox's consent page); outside the typed client and the document. */
  devRoutes?: Hono<AppEnv>;
}

export function createApp(options: AppOptions = {}) {
  const app = createRouter();

  app.use(requestId({ headerName: "X-Request-Id" }));
  // Nothing here is meant to be framed: DENY everywhere (the dashboard adds CSP frame-ancestors 'none').
  app.use(secureHeaders({ xFrameOptions: "DENY" }));
  app.use(
    "/api/*",
    cors({
      origin: (origin, c) => (loadSettings(c.env).ALLOWED_ORIGINS.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: ["X-Request-Id", "Retry-After", "Idempotent-Replayed"],
      maxAge: 600,
    }),
  );
  app.use(requestContext);
  app.use("/api/*", limitBody(MAX_BODY_BYTES));
  app.use("/webhooks/vapi", vapiSecret);
  app.use("/webhooks/*", limitBody(MAX_WEBHOOK_BYTES));
  app.use("/api/*", requireJsonBody);

  // One chain, so the app's type carries every route for the typed client (packages/client, `npm run client:types`).
  const routed = app
    .route("/", healthRouter)
    .route("/", assistantsRouter)
    .route("/", organizationRouter)
    .route("/", calendarRouter)
    .route("/", adminRouter)
    .route("/", webhooksRouter);
  app.route("/", dashboardRouter); // GET /admin, the operators' page: not in the typed client nor the OpenAPI document
  if (options.devRoutes) app.route("/", options.devRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The signed-in user's JWT, carrying organization and role claims.",
  });
  const openApiConfig = {
    openapi: "3.1.0",
    info: {
      title: "Switchboard API",
      version: VERSION,
      description: "Phone numbers for voice AI assistants. Every error is `{error: {code, message, details?}}`.",
    },
  };
  app.openAPIRegistry.registerComponent("securitySchemes", "VapiSecret", {
    type: "apiKey",
    in: "header",
    name: "X-Vapi-Secret",
    description: "VAPI_WEBHOOK_SECRET, which Switchboard sets in server.headers of every assistant and number it creates.",
  });
  // Built on its first request, then the same for the isolate's life: the routes do not change.
  let openApiDocument: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => {
    openApiDocument ??= withAccessStated(app.getOpenAPI31Document(openApiConfig));
    return c.json(openApiDocument);
  });
  app.route("/", docsRouter(`${openApiConfig.info.title} ${openApiConfig.info.version}`)); // GET /docs, Scalar reading /openapi.json

  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, c.req.path, c.req.method);
    if (allowed.length > 0) {
      return errorResponse(
        c,
        new ApiError(
          405,
          "method_not_allowed",
          `${c.req.method} is not supported on ${c.req.path}; use ${allowed.join(", ")}.`,
          undefined,
          { Allow: allowed.join(", ") },
        ),
      );
    }
    return errorResponse(c, new ApiError(404, "not_found", `There is no route ${c.req.method} ${c.req.path}. See /docs for the API.`));
  });

  app.onError((error, c) => errorResponse(c, toApiError(error, c)));
  return routed;
}

/** The whole API's type: `hc<AppType>()` from hono/client gives typed calls (packages/client spells it out). */
export type AppType = ReturnType<typeof createApp>;

function toApiError(error: unknown, c: Context<AppEnv>): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SettingsError) return new ApiError(500, "configuration_error", error.message, { setting: error.setting });
  if (error instanceof UpstreamError) return upstreamFailure(error, "complete the request");
  if (error instanceof HTTPException) {
    if (error.status === 400 && /json/i.test(error.message)) {
      return new ApiError(400, "malformed_json", "The body is not valid JSON.");
    }
    return new ApiError(error.status as ContentfulStatusCode, `http_${error.status}`, error.message || "The request could not be handled.");
  }
  const log = c.var.log ?? createLogger({ request_id: c.var.requestId });
  log.error("unhandled_error", { method: c.req.method, path: c.req.path, error });
  return new ApiError(500, "internal_error", `Something went wrong on our side. Quote request id ${c.var.requestId} when reporting it.`);
}

function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  return c.json(error.toBody(), error.status);
}

/** Methods registered for a path that did not match this method: the `Allow` of a 405. */
function allowedMethods(routes: readonly { method: string; path: string }[], path: string, method: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || route.method === method || route.path.endsWith("*")) continue;
    // Exact, like the strict router: `/api/assistants/` is no route at all, not a wrong method on one.
    const pattern = new RegExp(`^${route.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods].sort();
}
