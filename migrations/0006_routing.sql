ALTER TABLE `organizations` ADD `fallback_phone` text;--> statement-breakpoint
ALTER TABLE `organizations` ADD `max_concurrent_calls` integer;--> statement-breakpoint
ALTER TABLE `phone_numbers` ADD `vapi_fallback` text;