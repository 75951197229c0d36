CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`twilio_account_sid` text,
	`twilio_credential_type` text,
	`twilio_credentials` text,
	`twilio_auto_purchase` integer DEFAULT false NOT NULL,
	`twilio_area_code` text,
	`twilio_configured_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `twilio_numbers` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`number` text NOT NULL,
	`twilio_sid` text,
	`origin` text NOT NULL,
	`state` text NOT NULL,
	`phone_number_id` text,
	`claimed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `twilio_numbers_org_number` ON `twilio_numbers` (`org_id`,`number`);--> statement-breakpoint
CREATE INDEX `twilio_numbers_org_state` ON `twilio_numbers` (`org_id`,`state`,`created_at`);