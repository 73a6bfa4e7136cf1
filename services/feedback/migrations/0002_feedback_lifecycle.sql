-- feedback folds the shared lifecycle (referral_schemas.lifecycle) in log order and keeps it
-- per referral, as JSON (codes, ids, references and times; the worker it was assigned to is
-- left out). The columns of 0001 stay, now derived from it for people querying the table:
-- force, opened_at, first_contact_at, agency (the last agency that held it), ended_at and
-- outcome (what police were or would be told); `intelligence` keeps every reference that was
-- ever behind the referral, withdrawn ones included.
-- A row folded before this migration has no lifecycle: the referral's later events are
-- refused as unknown_referral. Start such a stack from empty topics (e.g. `hub infra down`).
ALTER TABLE referral_feedback ADD COLUMN lifecycle jsonb;
ALTER TABLE referral_feedback ADD COLUMN status text;
-- "Ended and not reported" now also holds referrals police are never told about (cancelled
-- before they reached anyone): the index no longer means "waiting for a report".
DROP INDEX referral_feedback_unreported;
