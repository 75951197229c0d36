-- A Twilio number belongs to one organisation. A listing that duplicates another organisation's row of the same
-- number (one being imported or in Vapi, or one listed earlier) was never imported, so it is dropped; then the
-- index makes a second one impossible. Two organisations both holding the number in Vapi cannot be settled here:
-- the index then fails, and docs/troubleshooting.md#twilio_number_taken shows how to find and settle them.
DELETE FROM `twilio_numbers` WHERE `state` = 'listed' AND EXISTS (
	SELECT 1 FROM `twilio_numbers` AS `other`
	WHERE `other`.`number` = `twilio_numbers`.`number` AND `other`.`id` <> `twilio_numbers`.`id`
		AND (`other`.`state` <> 'listed' OR `other`.`created_at` < `twilio_numbers`.`created_at`
			OR (`other`.`created_at` = `twilio_numbers`.`created_at` AND `other`.`id` < `twilio_numbers`.`id`))
);--> statement-breakpoint
CREATE UNIQUE INDEX `twilio_numbers_number` ON `twilio_numbers` (`number`);
