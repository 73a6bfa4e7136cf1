-- An operator's purge of a dead letter (`hub deadletters purge`): the refused record's copy on
-- hub.dead-letter was tombstoned, by whom, when and why. A purged dead letter cannot be
-- re-driven. The row itself (reason and origin, never the payload) stays.
ALTER TABLE dead_letters ADD COLUMN purged_at timestamptz;
ALTER TABLE dead_letters ADD COLUMN purged_by text;
ALTER TABLE dead_letters ADD COLUMN purge_note text;
CREATE INDEX dead_letters_origin ON dead_letters (source_topic, source_partition, source_offset);
