-- A queue filtered by status and area (the console's and the API's usual filters) is read
-- and counted from this index, in queue order, instead of from the whole agency's rows.
CREATE INDEX referrals_agency_filtered_queue
    ON referrals (agency, status, area, risk_rank DESC, due_by, opened_at, referral_id);
