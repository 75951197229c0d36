CREATE TABLE `vapi_account` (
	`id` text PRIMARY KEY NOT NULL,
	`outside_free_numbers` integer DEFAULT 0 NOT NULL,
	`counted_at` text,
	`last_import` text,
	`last_import_at` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `assistants` ADD `origin` text DEFAULT 'switchboard' NOT NULL;--> statement-breakpoint
ALTER TABLE `phone_numbers` ADD `origin` text DEFAULT 'switchboard' NOT NULL;