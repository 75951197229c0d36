import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Timestamps are ISO 8601 UTC strings: readable in D1's console, and they sort as text. */
const timestamp = (name: string) => text(name);

export const ASSISTANT_STATES = ["creating", "active", "deleting", "deleted"] as const;

/** Made by Switchboard, or found in the Vapi account and adopted (the import, or the daily reconciliation). */
export const ORIGINS = ["switchboard", "adopted"] as const;

/**
 * An AI receptionist of one organisation. `state` is `creating` from the first write until Vapi has the
 * assistant, so a crash in between leaves a row the sweep can finish or remove; `deleting` while one DELETE
 * (the only one: the others find no active row) removes it from Vapi; deleted rows are kept.
 */
export const assistants = sqliteTable(
  "assistants",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    /** True when the caller chose the name; otherwise it follows business_data.business_name. */
    nameIsCustom: integer("name_is_custom", { mode: "boolean" }).notNull().default(false),
    businessData: text("business_data", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    languages: text("languages", { mode: "json" }).notNull().$type<string[]>(),
    areaCode: text("area_code"),
    vapiAssistantId: text("vapi_assistant_id"),
    state: text("state", { enum: ASSISTANT_STATES }).notNull(),
    phoneSource: text("phone_source", { enum: ["pool", "new", "twilio"] }),
    /** `adopted`: a Vapi assistant made before Switchboard, taken over by the import (its prompt is Vapi's until changed here). */
    origin: text("origin", { enum: ORIGINS }).notNull().default("switchboard"),
    emergencyContactName: text("emergency_contact_name"),
    emergencyContactPhone: text("emergency_contact_phone"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
    deletedAt: timestamp("deleted_at"),
  },
  (t) => [
    index("assistants_org_state_created").on(t.orgId, t.state, t.createdAt),
    // The sweeps: interrupted creations and deletions, found without reading the deleted rows.
    index("assistants_state_created").on(t.state, t.createdAt),
    uniqueIndex("assistants_vapi_assistant_id").on(t.vapiAssistantId),
  ],
);

/**
 * A phone number in Vapi. `org_id` null means the shared pool of free Vapi numbers; set, it is an
 * organisation's own (imported or bought Twilio) number that only that organisation may use.
 * At most one assistant per number: the unique index on `assistant_id` (NULLs do not collide).
 */
export const phoneNumbers = sqliteTable(
  "phone_numbers",
  {
    id: text("id").primaryKey(),
    provider: text("provider", { enum: ["vapi", "twilio"] }).notNull(),
    source: text("source", { enum: ["vapi_free", "twilio_imported", "twilio_purchased"] }).notNull(),
    origin: text("origin", { enum: ORIGINS }).notNull().default("switchboard"),
    vapiPhoneNumberId: text("vapi_phone_number_id"),
    number: text("number"),
    areaCode: text("area_code"),
    status: text("status", { enum: ["provisioning", "active", "stuck", "failed", "released"] }).notNull(),
    orgId: text("org_id"),
    assistantId: text("assistant_id"),
    twilioSid: text("twilio_sid"),
    provisioningStartedAt: timestamp("provisioning_started_at"),
    provisioningDeadline: timestamp("provisioning_deadline"),
    /** Mirrors the tracker's progress so lists show it without asking each Durable Object. */
    provisioningAttempts: integer("provisioning_attempts").notNull().default(0),
    nextCheckAt: timestamp("next_check_at"),
    /** The name of the ProvisioningTracker following this number (its assistant's id, or `number:<id>`). */
    trackerKey: text("tracker_key"),
    activatedAt: timestamp("activated_at"),
    assignedAt: timestamp("assigned_at"),
    unassignedAt: timestamp("unassigned_at"),
    releasedAt: timestamp("released_at"),
    lastCallAt: timestamp("last_call_at"),
    /** The number Switchboard last set as the number's `fallbackDestination` in Vapi (edge routing); null: none. */
    vapiFallback: text("vapi_fallback"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("phone_numbers_assistant").on(t.assistantId),
    uniqueIndex("phone_numbers_vapi_id").on(t.vapiPhoneNumberId),
    // The pool's queue: active numbers without an assistant, by how long they have waited (`waitingSince` in
    // numbers/pool.ts). The claim probes an organisation's (or the shared pool's) waiting numbers of one area code,
    // then of any (_area, _pool); the overview, its pages and the cleanup read the queue in order (_queue). All
    // three lead with status, so a count or list by status uses them too.
    index("phone_numbers_pool").on(t.status, t.assistantId, t.orgId, sql`coalesce(unassigned_at, created_at)`),
    index("phone_numbers_pool_area").on(t.status, t.assistantId, t.orgId, t.areaCode, sql`coalesce(unassigned_at, created_at)`),
    index("phone_numbers_queue").on(t.status, t.assistantId, sql`coalesce(unassigned_at, created_at)`, t.id),
    // The pool's counts by status, provider, origin, source and assigned (poolStatsQuery), read from the index alone
    // in its order: no row is visited and nothing is sorted.
    index("phone_numbers_stats").on(t.status, t.provider, t.origin, t.source, sql`assistant_id IS NOT NULL`),
    // The numbers not usable yet (or ever) of one status, oldest first: the overview's provisioning list.
    index("phone_numbers_not_ready").on(t.status, sql`coalesce(provisioning_started_at, created_at)`, t.id),
    // The free-number count (its limit bounds it), free numbers made since an alert, an organisation's own
    // numbers, a number by its E.164.
    index("phone_numbers_source_status").on(t.source, t.status),
    index("phone_numbers_source_created").on(t.source, t.createdAt),
    index("phone_numbers_org").on(t.orgId, t.provider, t.status),
    index("phone_numbers_number").on(t.number),
    // The cleanup's unfinished releases, without reading every released row (those only grow). status and
    // released_at lead so the planner prefers it to phone_numbers_pool (status=?).
    index("phone_numbers_unfinished_release")
      .on(t.status, t.releasedAt, t.updatedAt, t.id)
      .where(sql`status = 'released' AND released_at IS NULL`),
  ],
);

export const PHONE_NUMBER_EVENTS = [
  "created",
  "assigned",
  "reused",
  "unassigned",
  "provisioned",
  "stuck",
  "failed",
  "released",
  "repaired",
] as const;

/** The assignment history: every change of a number, with who it concerned. */
export const phoneNumberEvents = sqliteTable(
  "phone_number_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    phoneNumberId: text("phone_number_id").notNull(),
    event: text("event", { enum: PHONE_NUMBER_EVENTS }).notNull(),
    orgId: text("org_id"),
    assistantId: text("assistant_id"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    index("phone_number_events_number").on(t.phoneNumberId, t.id),
    index("phone_number_events_org").on(t.orgId, t.id),
    // The pool's usage over time: the events of the last days, without reading the older ones.
    index("phone_number_events_created").on(t.createdAt),
  ],
);

/** Operator alerts: at most one open alert per kind and subject. */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    subject: text("subject").notNull(),
    status: text("status", { enum: ["open", "resolved"] }).notNull(),
    message: text("message").notNull(),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at").notNull(),
    resolvedAt: timestamp("resolved_at"),
    /** When the alert was posted to ALERT_WEBHOOK_URL (at most once per alert). */
    notifiedAt: timestamp("notified_at"),
  },
  (t) => [
    uniqueIndex("alerts_open_kind_subject").on(t.kind, t.subject).where(sql`status = 'open'`),
    // The open alerts, newest first, without reading the resolved ones (the index ends in the rowid, `id`).
    index("alerts_status").on(t.status),
  ],
);

/**
 * What Switchboard knows of the Vapi account beyond its own rows (one row, id `vapi`): the free Vapi numbers the
 * account holds that no row counts (made outside Switchboard), so the free-number limit follows the account; and
 * the last import's report.
 */
export const vapiAccount = sqliteTable("vapi_account", {
  id: text("id").primaryKey(),
  outsideFreeNumbers: integer("outside_free_numbers").notNull().default(0),
  /** When Vapi was listed for that count: numbers Vapi made after it are "new" to the next run. */
  countedAt: timestamp("counted_at"),
  lastImport: text("last_import", { mode: "json" }).$type<Record<string, unknown>>(),
  lastImportAt: timestamp("last_import_at"),
  updatedAt: timestamp("updated_at").notNull(),
});

/** Replays of `Idempotency-Key` requests, scoped by organisation. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    key: text("key").primaryKey(),
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["processing", "done"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    createdAt: timestamp("created_at").notNull(),
  },
  // The daily prune of expired keys.
  (t) => [index("idempotency_keys_created").on(t.createdAt)],
);

/**
 * An organisation's own settings. Twilio credentials are AES-GCM sealed (`enc:v1:…`, context `twilio:<org id>`),
 * never returned and never logged.
 */
export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  twilioAccountSid: text("twilio_account_sid"),
  twilioCredentialType: text("twilio_credential_type", { enum: ["auth_token", "api_key"] }),
  twilioCredentials: text("twilio_credentials"),
  twilioAutoPurchase: integer("twilio_auto_purchase", { mode: "boolean" }).notNull().default(false),
  twilioAreaCode: text("twilio_area_code"),
  twilioConfiguredAt: timestamp("twilio_configured_at"),
  /** Where calls go when no assistant can take them (E.164): a person at the business. */
  fallbackPhone: text("fallback_phone"),
  /** Live calls the organisation may have at once (platform_admin sets it); null is no cap of its own. */
  maxConcurrentCalls: integer("max_concurrent_calls"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
});

/**
 * An organisation's Twilio numbers that Switchboard may use: listed by the organisation (`imported`) or bought
 * through Switchboard (`purchased`). `listed` is waiting to be imported into Vapi, `importing` is being
 * imported for an assistant right now, `in_vapi` lives on as `phone_number_id` in the pool. One number is one
 * organisation's at most (the unique index on `number`).
 */
export const twilioNumbers = sqliteTable(
  "twilio_numbers",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    number: text("number").notNull(),
    twilioSid: text("twilio_sid"),
    origin: text("origin", { enum: ["imported", "purchased"] }).notNull(),
    state: text("state", { enum: ["listed", "importing", "in_vapi"] }).notNull(),
    phoneNumberId: text("phone_number_id"),
    claimedAt: timestamp("claimed_at"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("twilio_numbers_org_number").on(t.orgId, t.number),
    // A carrier number belongs to one organisation, even when two hold credentials of the same Twilio account.
    uniqueIndex("twilio_numbers_number").on(t.number),
    index("twilio_numbers_org_state").on(t.orgId, t.state, t.createdAt),
    // This month's purchases not yet in Vapi (the overview's total), without reading every listed number.
    index("twilio_numbers_origin_created").on(t.origin, t.createdAt),
  ],
);

/**
 * An organisation's Google Calendar connection. Tokens are AES-GCM sealed (context `google:<org id>`).
 * `refresh_lock_until` makes one refresh at a time per organisation: a refresher takes it with a guarded UPDATE.
 */
export const calendarConnections = sqliteTable("calendar_connections", {
  orgId: text("org_id").primaryKey(),
  googleSub: text("google_sub").notNull(),
  email: text("email"),
  calendarId: text("calendar_id").notNull(),
  timezone: text("timezone"),
  scopes: text("scopes").notNull(),
  accessToken: text("access_token").notNull(),
  accessTokenExpiresAt: timestamp("access_token_expires_at").notNull(),
  refreshToken: text("refresh_token").notNull(),
  status: text("status", { enum: ["connected", "reconnect_required"] }).notNull(),
  lastError: text("last_error"),
  refreshLockUntil: timestamp("refresh_lock_until"),
  connectedBy: text("connected_by"),
  connectedAt: timestamp("connected_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
});

/** OAuth `state` values already used, so a replayed callback is refused (kept until the state expires). */
export const oauthStates = sqliteTable("oauth_states", {
  id: text("id").primaryKey(),
  orgId: text("org_id").notNull(),
  usedAt: timestamp("used_at").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
});

/** Appointments booked by assistants during calls; the Google event id is derived from the call and tool call. */
export const bookings = sqliteTable(
  "bookings",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    assistantId: text("assistant_id"),
    callId: text("call_id"),
    toolCallId: text("tool_call_id"),
    googleEventId: text("google_event_id").notNull(),
    calendarId: text("calendar_id").notNull(),
    startsAt: timestamp("starts_at").notNull(),
    endsAt: timestamp("ends_at").notNull(),
    callerName: text("caller_name"),
    callerPhone: text("caller_phone"),
    reason: text("reason"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [uniqueIndex("bookings_google_event").on(t.orgId, t.googleEventId), index("bookings_org_start").on(t.orgId, t.startsAt)],
);
