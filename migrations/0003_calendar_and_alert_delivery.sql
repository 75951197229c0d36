CREATE TABLE `bookings` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`assistant_id` text,
	`call_id` text,
	`tool_call_id` text,
	`google_event_id` text NOT NULL,
	`calendar_id` text NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`caller_name` text,
	`caller_phone` text,
	`reason` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bookings_google_event` ON `bookings` (`org_id`,`google_event_id`);--> statement-breakpoint
CREATE INDEX `bookings_org_start` ON `bookings` (`org_id`,`starts_at`);--> statement-breakpoint
CREATE TABLE `calendar_connections` (
	`org_id` text PRIMARY KEY NOT NULL,
	`google_sub` text NOT NULL,
	`email` text,
	`calendar_id` text NOT NULL,
	`timezone` text,
	`scopes` text NOT NULL,
	`access_token` text NOT NULL,
	`access_token_expires_at` text NOT NULL,
	`refresh_token` text NOT NULL,
	`status` text NOT NULL,
	`last_error` text,
	`refresh_lock_until` text,
	`connected_by` text,
	`connected_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `oauth_states` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`used_at` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `alerts` ADD `notified_at` text;