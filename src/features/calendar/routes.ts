import { createRoute, z } from "@hono/zod-openapi";
import { orgOf } from "../../platform/context";
import { requireRole } from "../../platform/middleware";
import { rateLimit } from "../../platform/rate-limit";
import { createRouter } from "../../platform/router";
import { calendarStatus, completeGoogleAuthorization, disconnectCalendar, settingsPageUrl, startGoogleAuthorization } from "./connection";
import { authErrors, bearer, errorResponse, jsonResponse } from "../../platform/openapi";

const tags = ["Calendar"];

const auth = createRoute({
  method: "get",
  path: "/api/calendar/google/auth",
  tags,
  security: bearer("owner"),
  middleware: [requireRole("owner"), rateLimit("calendar_auth")] as const,
  summary: "Where to send the browser to connect Google Calendar",
  description:
    "A Google authorization URL with PKCE and a signed, encrypted state that expires in 10 minutes and binds the organization and user.",
  responses: {
    200: jsonResponse(z.object({ url: z.url() }).openapi("GoogleAuthUrl"), "Send the browser here"),
    ...authErrors,
    503: errorResponse("`calendar_not_configured`: `details.missing_settings` names what to set"),
  },
});

const callback = createRoute({
  method: "get",
  path: "/api/calendar/google/callback",
  tags,
  summary: "Google's redirect back (set as GOOGLE_REDIRECT_URI)",
  description:
    "Always redirects to APP_URL/settings/phone-calendar with `?calendar=connected` or `?calendar_error=<code>`: access_denied, google_error, invalid_request, invalid_state, state_expired, state_replayed, exchange_failed, missing_scopes, missing_refresh_token, invalid_id_token, google_unavailable, not_configured.",
  request: {
    query: z.object({
      code: z.string().max(2048).optional(),
      state: z.string().max(4096).optional(),
      error: z.string().max(200).optional(),
      scope: z.string().max(2048).optional(),
    }),
  },
  responses: { 302: { description: "Back to the settings page with the outcome" } },
});

const statusRoute = createRoute({
  method: "get",
  path: "/api/calendar/status",
  tags,
  security: bearer("member"),
  middleware: [requireRole("member")] as const,
  summary: "The organization's calendar connection (and any missing server setting)",
  responses: {
    200: jsonResponse(
      z
        .object({
          connected: z.boolean(),
          email: z.string().nullable(),
          calendar_id: z.string().nullable(),
          timezone: z.string().nullable(),
          scopes: z.array(z.string()),
          connected_at: z.string().nullable(),
          status: z.enum(["connected", "reconnect_required", "not_connected"]),
          last_error: z.string().nullable(),
          missing_settings: z.array(z.string()).openapi({ description: "Server settings that must be set before anyone can connect" }),
        })
        .openapi("CalendarStatus"),
      "Connection state",
    ),
    ...authErrors,
  },
});

const disconnect = createRoute({
  method: "post",
  path: "/api/calendar/disconnect",
  tags,
  security: bearer("owner"),
  middleware: [requireRole("owner")] as const,
  summary: "Revoke the Google grant and forget the tokens",
  responses: { 200: jsonResponse(z.object({ disconnected: z.literal(true), revoked: z.boolean() }), "Disconnected"), ...authErrors },
});

export const calendarRouter = createRouter()
  .openapi(auth, async (c) => c.json({ url: await startGoogleAuthorization(c.var.services, orgOf(c), c.var.caller.userId) }, 200))
  .openapi(callback, async (c) => {
    const deps = c.var.services;
    if (!deps.google) {
      return c.redirect(settingsPageUrl(deps.settings, { connected: false, error: "not_configured", orgId: null }), 302);
    }
    const outcome = await completeGoogleAuthorization(deps, c.req.valid("query"));
    return c.redirect(settingsPageUrl(deps.settings, outcome), 302);
  })
  .openapi(statusRoute, async (c) => c.json(await calendarStatus(c.var.services, orgOf(c)), 200))
  .openapi(disconnect, async (c) => c.json({ disconnected: true as const, ...(await disconnectCalendar(c.var.services, orgOf(c))) }, 200));
