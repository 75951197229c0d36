import { and, eq, isNull, lt, or } from "drizzle-orm";
import { calendarConnections, oauthStates } from "../../db/schema";
import { ApiError } from "../../platform/errors";
import { newCodeVerifier, OAuthStateError, openState, sealState } from "./oauth-state";
import type { Settings } from "../../platform/settings";
import {
  GOOGLE_CALENDAR_SCOPES,
  GoogleApiError,
  GoogleIdTokenError,
  GoogleOAuthError,
  missingScopes,
  pkceChallenge,
  type GoogleClient,
} from "../../integrations/google";
import { UpstreamError } from "../../integrations/http";
import { raiseAlert, resolveAlert } from "../alerts/alerts";
import type { Services } from "../../services";
import { missingGoogleSettings } from "../../integrations/index";

export type CalendarConnectionRow = typeof calendarConnections.$inferSelect;

export type CalendarDeps = Pick<Services, "db" | "log" | "settings" | "box" | "google">;

/** Access tokens are refreshed this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** How long one refresher holds the per-organisation lock. */
const REFRESH_LOCK_MS = 30_000;

const tokenContext = (orgId: string) => `google:${orgId}`;

/** The settings the Google connection needs that are not set: the first thing to check when it won't connect. */
function missingCalendarSettings(settings: Settings): string[] {
  // The OAuth client's own list, and where the browser lands afterwards.
  return [...missingGoogleSettings(settings), ...(settings.APP_URL ? [] : ["APP_URL"])];
}

function requireGoogle(deps: CalendarDeps): GoogleClient {
  const missing = missingCalendarSettings(deps.settings);
  if (!deps.google || missing.length > 0) {
    throw new ApiError(
      503,
      "calendar_not_configured",
      `Google Calendar is not configured on this server: set ${missing.join(", ") || "the Google OAuth client"}.`,
      { missing_settings: missing },
    );
  }
  return deps.google;
}

/** Google's authorization URL for this organisation's owner, with a sealed single-use state and PKCE. */
export async function startGoogleAuthorization(deps: CalendarDeps, orgId: string, userId: string): Promise<string> {
  const google = requireGoogle(deps);
  const codeVerifier = newCodeVerifier();
  const { token } = await sealState(deps.settings.ENCRYPTION_KEY, { orgId, userId, codeVerifier });
  return google.authorizationUrl({ state: token, codeChallenge: await pkceChallenge(codeVerifier), scopes: GOOGLE_CALENDAR_SCOPES });
}

type CallbackOutcome = { connected: true; orgId: string } | { connected: false; error: string; orgId: string | null };

/**
 * Google's redirect back: every failure becomes an error code for the settings page, never a bare error.
 * The state is verified and consumed (a replay is refused), the code exchanged, the grant checked for a
 * refresh token and every scope, the id_token verified, and the tokens stored sealed.
 */
export async function completeGoogleAuthorization(
  deps: CalendarDeps,
  query: Record<string, string | undefined>,
  nowMs = Date.now(),
): Promise<CallbackOutcome> {
  const google = requireGoogle(deps);
  let state;
  try {
    if (!query.state) return { connected: false, error: "invalid_state", orgId: null };
    state = await openState(deps.settings.ENCRYPTION_KEY, query.state, nowMs);
  } catch (error) {
    if (error instanceof OAuthStateError) return { connected: false, error: error.problem, orgId: null };
    throw error;
  }
  const fail = (error: string, detail?: Record<string, unknown>) => {
    deps.log.warn("calendar_connect_failed", { org_id: state.orgId, user_id: state.userId, reason: error, ...detail });
    return { connected: false as const, error, orgId: state.orgId };
  };

  const consumed = await deps.db
    .insert(oauthStates)
    .values({ id: state.id, orgId: state.orgId, usedAt: new Date(nowMs).toISOString(), expiresAt: new Date(state.expiresAt).toISOString() })
    .onConflictDoNothing()
    .returning({ id: oauthStates.id });
  if (consumed.length === 0) return fail("state_replayed");
  if (query.error) return fail(query.error === "access_denied" ? "access_denied" : "google_error", { google_error: query.error });
  if (!query.code) return fail("invalid_request");

  let tokens;
  try {
    tokens = await google.exchangeCode({ code: query.code, codeVerifier: state.codeVerifier });
  } catch (error) {
    if (error instanceof GoogleOAuthError) return fail("exchange_failed", { oauth_error: error.oauthError });
    if (error instanceof UpstreamError) return fail("google_unavailable");
    throw error;
  }
  const missing = missingScopes(tokens.scopes);
  if (missing.length > 0) return fail("missing_scopes", { missing });
  if (!tokens.refreshToken) return fail("missing_refresh_token");
  if (!tokens.idToken) return fail("invalid_id_token");

  let identity;
  try {
    identity = await google.verifyIdToken(tokens.idToken);
  } catch (error) {
    if (error instanceof GoogleIdTokenError || error instanceof UpstreamError) return fail("invalid_id_token");
    throw error;
  }

  const at = new Date(nowMs).toISOString();
  const values = {
    googleSub: identity.sub,
    email: identity.email,
    calendarId: "primary",
    timezone: null,
    scopes: tokens.scopes.join(" "),
    accessToken: await deps.box.encrypt(tokens.accessToken, tokenContext(state.orgId)),
    accessTokenExpiresAt: new Date(nowMs + tokens.expiresIn * 1000).toISOString(),
    refreshToken: await deps.box.encrypt(tokens.refreshToken, tokenContext(state.orgId)),
    status: "connected" as const,
    lastError: null,
    refreshLockUntil: null,
    connectedBy: state.userId,
    connectedAt: at,
    updatedAt: at,
  };
  await deps.db.batch([
    deps.db
      .insert(calendarConnections)
      .values({ orgId: state.orgId, ...values })
      .onConflictDoUpdate({ target: calendarConnections.orgId, set: values }),
    resolveAlert(deps.db, "calendar_reconnect_required", state.orgId),
  ]);
  deps.log.info("calendar_connected", { org_id: state.orgId, user_id: state.userId, google_sub: identity.sub });
  return { connected: true, orgId: state.orgId };
}

/** Where the browser goes after the callback: the settings page, with the outcome in the query. */
export function settingsPageUrl(settings: Settings, outcome: CallbackOutcome): string {
  const url = new URL("/settings/phone-calendar", settings.APP_URL ?? "http://localhost:3000");
  if (outcome.connected) url.searchParams.set("calendar", "connected");
  else url.searchParams.set("calendar_error", outcome.error);
  return url.toString();
}

export interface CalendarStatus {
  connected: boolean;
  email: string | null;
  calendar_id: string | null;
  timezone: string | null;
  scopes: string[];
  connected_at: string | null;
  status: "connected" | "reconnect_required" | "not_connected";
  last_error: string | null;
  missing_settings: string[];
}

export async function calendarStatus(deps: Pick<CalendarDeps, "db" | "settings">, orgId: string): Promise<CalendarStatus> {
  const [row] = await deps.db.select().from(calendarConnections).where(eq(calendarConnections.orgId, orgId)).limit(1);
  return {
    connected: row?.status === "connected",
    email: row?.email ?? null,
    calendar_id: row?.calendarId ?? null,
    timezone: row?.timezone ?? null,
    scopes: row ? row.scopes.split(" ").filter(Boolean) : [],
    connected_at: row?.connectedAt ?? null,
    status: row?.status ?? "not_connected",
    last_error: row?.lastError ?? null,
    missing_settings: missingCalendarSettings(deps.settings),
  };
}

/** Revokes the grant at Google (already invalid is fine) and forgets the tokens. */
export async function disconnectCalendar(deps: CalendarDeps, orgId: string): Promise<{ revoked: boolean }> {
  const [row] = await deps.db.select().from(calendarConnections).where(eq(calendarConnections.orgId, orgId)).limit(1);
  if (!row) return { revoked: false };
  let revoked = false;
  if (deps.google) {
    try {
      await deps.google.revoke(await deps.box.decrypt(row.refreshToken, tokenContext(orgId)));
      revoked = true;
    } catch (error) {
      // The tokens are forgotten anyway; the user can also remove access at myaccount.google.com.
      deps.log.warn("calendar_revoke_failed", { org_id: orgId, error });
    }
  }
  await deps.db.batch([
    deps.db.delete(calendarConnections).where(eq(calendarConnections.orgId, orgId)),
    resolveAlert(deps.db, "calendar_reconnect_required", orgId),
  ]);
  deps.log.info("calendar_disconnected", { org_id: orgId, revoked });
  return { revoked };
}

type CalendarUnavailableReason = "not_connected" | "reconnect_required" | "not_configured" | "google_unavailable";

/** The calendar cannot be used right now; `reason` picks what the assistant says. */
export class CalendarUnavailable extends Error {
  constructor(readonly reason: CalendarUnavailableReason) {
    super(`calendar unavailable: ${reason}`);
    this.name = "CalendarUnavailable";
  }
}

const refusedAccess = (error: unknown) => error instanceof GoogleApiError && error.status === 401;

/**
 * Runs `use` with a usable access token. Google may refuse a token before its stated expiry: a 401 from the
 * Calendar API gets one refresh and one retry. Only `invalid_grant` from the token endpoint, or the fresh token
 * refused too, means the grant is gone (`reconnect_required`); a refresh that fails transiently disconnects nothing.
 */
export async function withAccessToken<T>(
  deps: CalendarDeps,
  orgId: string,
  use: (token: string, connection: CalendarConnectionRow) => Promise<T>,
): Promise<T> {
  const first = await accessTokenFor(deps, orgId);
  try {
    return await use(first.token, first.connection);
  } catch (error) {
    if (!refusedAccess(error)) throw error;
    deps.log.warn("calendar_access_token_refused", { org_id: orgId });
  }
  const fresh = await accessTokenFor(deps, orgId, Date.now(), first.token);
  try {
    return await use(fresh.token, fresh.connection);
  } catch (error) {
    if (!refusedAccess(error)) throw error;
    await markReconnectRequired(deps, orgId, "a freshly refreshed access token was refused");
    throw new CalendarUnavailable("reconnect_required");
  }
}

/**
 * A usable access token: the stored one while it has more than five minutes left (and is not `refused`, the one
 * Google just answered 401 to), else a refreshed one.
 * One refresh at a time per organisation (a guarded UPDATE takes a short lock); `invalid_grant` turns the
 * connection to `reconnect_required` with an alert; transient failures never disconnect.
 */
async function accessTokenFor(
  deps: CalendarDeps,
  orgId: string,
  nowMs = Date.now(),
  refused: string | null = null,
): Promise<{ token: string; connection: CalendarConnectionRow }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [row] = await deps.db.select().from(calendarConnections).where(eq(calendarConnections.orgId, orgId)).limit(1);
    if (!row) throw new CalendarUnavailable("not_connected");
    if (row.status === "reconnect_required") throw new CalendarUnavailable("reconnect_required");
    const expiresAt = Date.parse(row.accessTokenExpiresAt);
    const stored = await deps.box.decrypt(row.accessToken, tokenContext(orgId));
    // Another request may already have replaced the refused token: then the stored one is new.
    const usable = stored !== refused;
    if (usable && expiresAt - nowMs > REFRESH_MARGIN_MS) return { token: stored, connection: row };
    if (!deps.google) throw new CalendarUnavailable("not_configured");

    const now = new Date(nowMs).toISOString();
    const [locked] = await deps.db
      .update(calendarConnections)
      .set({ refreshLockUntil: new Date(nowMs + REFRESH_LOCK_MS).toISOString() })
      .where(
        and(
          eq(calendarConnections.orgId, orgId),
          or(isNull(calendarConnections.refreshLockUntil), lt(calendarConnections.refreshLockUntil, now)),
        ),
      )
      .returning();
    if (locked) return refreshWithLock(deps, locked, nowMs);
    // Another request is refreshing: its token is still good if not yet expired (nor refused), else wait for it briefly.
    if (usable && expiresAt > nowMs) return { token: stored, connection: row };
    await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
  }
  throw new CalendarUnavailable("google_unavailable");
}

async function refreshWithLock(
  deps: CalendarDeps,
  row: CalendarConnectionRow,
  nowMs: number,
): Promise<{ token: string; connection: CalendarConnectionRow }> {
  const orgId = row.orgId;
  try {
    const tokens = await deps.google!.refresh(await deps.box.decrypt(row.refreshToken, tokenContext(orgId)));
    const at = new Date(nowMs).toISOString();
    const [updated] = await deps.db
      .update(calendarConnections)
      .set({
        accessToken: await deps.box.encrypt(tokens.accessToken, tokenContext(orgId)),
        accessTokenExpiresAt: new Date(nowMs + tokens.expiresIn * 1000).toISOString(),
        // Google usually sends no new refresh token; keep the one we have.
        ...(tokens.refreshToken ? { refreshToken: await deps.box.encrypt(tokens.refreshToken, tokenContext(orgId)) } : {}),
        refreshLockUntil: null,
        lastError: null,
        updatedAt: at,
      })
      .where(eq(calendarConnections.orgId, orgId))
      .returning();
    deps.log.info("calendar_token_refreshed", { org_id: orgId });
    return { token: tokens.accessToken, connection: updated ?? row };
  } catch (error) {
    if (error instanceof GoogleOAuthError && error.needsReconnect) {
      await markReconnectRequired(deps, orgId, error.description ?? "invalid_grant");
      throw new CalendarUnavailable("reconnect_required");
    }
    await deps.db.update(calendarConnections).set({ refreshLockUntil: null }).where(eq(calendarConnections.orgId, orgId));
    deps.log.warn("calendar_refresh_failed", { org_id: orgId, error });
    throw new CalendarUnavailable("google_unavailable");
  }
}

/** Google says the grant is dead (revoked, expired, password change…): the owner must reconnect. */
async function markReconnectRequired(deps: Pick<CalendarDeps, "db" | "log">, orgId: string, reason: string): Promise<void> {
  await deps.db
    .update(calendarConnections)
    .set({
      status: "reconnect_required",
      lastError: `Google refused the saved access (${reason}). Reconnect the calendar.`,
      refreshLockUntil: null,
      updatedAt: new Date().toISOString(),
    })
    .where(eq(calendarConnections.orgId, orgId));
  await raiseAlert(deps.db, deps.log, {
    kind: "calendar_reconnect_required",
    subject: orgId,
    message: `Google Calendar of organization ${orgId} needs reconnecting: ${reason}. Its assistants cannot book until an owner reconnects (GET /api/calendar/google/auth).`,
  });
}
