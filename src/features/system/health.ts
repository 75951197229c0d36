import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../platform/router";
import { VERSION } from "../../platform/version";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness and version",
  responses: {
    200: {
      description: "The service is up",
      content: {
        "application/json": {
          schema: z.object({ status: z.literal("ok"), version: z.string(), upstream_mode: z.enum(["sandbox", "live"]) }),
        },
      },
    },
  },
});

export const healthRouter = createRouter().openapi(health, (c) =>
  c.json({ status: "ok" as const, version: VERSION, upstream_mode: c.var.settings.UPSTREAM_MODE }, 200),
);
