-- insights folds the shared lifecycle (referral_schemas.lifecycle) in log order and keeps it
-- per referral as JSON (codes, ids, districts and times; never the worker it was assigned
-- to). The columns of 0001 stay, now derived from it for the figures' SQL: outcome_at is set
-- only for a referral that ended closed and cancelled_at only for one that ended cancelled,
-- so a referral counts as an outcome or a cancellation, never both; district is the one it
-- was opened in; first_contact_at is the shared definition.
-- Rows folded before this migration have no lifecycle: rebuild by replay (README, "Rebuild
-- by replay") into an empty schema.
ALTER TABLE referral_facts ADD COLUMN lifecycle jsonb;
ALTER TABLE referral_facts ADD COLUMN status text;
