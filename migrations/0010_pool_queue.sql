-- drizzle-kit quotes an index expression as if it were a column name: the expressions are written by hand.
DROP INDEX `phone_numbers_pool`;--> statement-breakpoint
CREATE INDEX `phone_numbers_pool_area` ON `phone_numbers` (`status`,`assistant_id`,`org_id`,`area_code`,coalesce(`unassigned_at`, `created_at`));--> statement-breakpoint
CREATE INDEX `phone_numbers_queue` ON `phone_numbers` (`status`,`assistant_id`,coalesce(`unassigned_at`, `created_at`),`id`);--> statement-breakpoint
CREATE INDEX `phone_numbers_pool` ON `phone_numbers` (`status`,`assistant_id`,`org_id`,coalesce(`unassigned_at`, `created_at`));--> statement-breakpoint
CREATE INDEX `phone_numbers_not_ready` ON `phone_numbers` (`status`,coalesce(`provisioning_started_at`, `created_at`),`id`);--> statement-breakpoint
CREATE INDEX `phone_numbers_stats` ON `phone_numbers` (`status`,`provider`,`origin`,`source`,`assistant_id` IS NOT NULL);--> statement-breakpoint
CREATE INDEX `twilio_numbers_origin_created` ON `twilio_numbers` (`origin`,`created_at`);
