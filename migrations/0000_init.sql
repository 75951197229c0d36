CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`status` text NOT NULL,
	`message` text NOT NULL,
	`detail` text,
	`created_at` text NOT NULL,
	`resolved_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_open_kind_subject` ON `alerts` (`kind`,`subject`) WHERE status = 'open';--> statement-breakpoint
CREATE TABLE `assistants` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`name_is_custom` integer DEFAULT false NOT NULL,
	`business_data` text NOT NULL,
	`languages` text NOT NULL,
	`area_code` text,
	`vapi_assistant_id` text,
	`state` text NOT NULL,
	`phone_source` text,
	`emergency_contact_name` text,
	`emergency_contact_phone` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE INDEX `assistants_org_state_created` ON `assistants` (`org_id`,`state`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `assistants_vapi_assistant_id` ON `assistants` (`vapi_assistant_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `phone_number_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`phone_number_id` text NOT NULL,
	`event` text NOT NULL,
	`org_id` text,
	`assistant_id` text,
	`detail` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `phone_number_events_number` ON `phone_number_events` (`phone_number_id`,`id`);--> statement-breakpoint
CREATE INDEX `phone_number_events_org` ON `phone_number_events` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `phone_numbers` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`source` text NOT NULL,
	`vapi_phone_number_id` text,
	`number` text,
	`area_code` text,
	`status` text NOT NULL,
	`org_id` text,
	`assistant_id` text,
	`twilio_sid` text,
	`provisioning_started_at` text,
	`provisioning_deadline` text,
	`provisioning_attempts` integer DEFAULT 0 NOT NULL,
	`next_check_at` text,
	`activated_at` text,
	`assigned_at` text,
	`unassigned_at` text,
	`released_at` text,
	`last_call_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `phone_numbers_assistant` ON `phone_numbers` (`assistant_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `phone_numbers_vapi_id` ON `phone_numbers` (`vapi_phone_number_id`);--> statement-breakpoint
CREATE INDEX `phone_numbers_pool` ON `phone_numbers` (`status`,`assistant_id`,`org_id`,`unassigned_at`);