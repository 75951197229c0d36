CREATE INDEX `alerts_status` ON `alerts` (`status`);--> statement-breakpoint
CREATE INDEX `assistants_state_created` ON `assistants` (`state`,`created_at`);--> statement-breakpoint
CREATE INDEX `idempotency_keys_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE INDEX `phone_numbers_source_status` ON `phone_numbers` (`source`,`status`);--> statement-breakpoint
CREATE INDEX `phone_numbers_source_created` ON `phone_numbers` (`source`,`created_at`);--> statement-breakpoint
CREATE INDEX `phone_numbers_org` ON `phone_numbers` (`org_id`,`provider`,`status`);--> statement-breakpoint
CREATE INDEX `phone_numbers_number` ON `phone_numbers` (`number`);