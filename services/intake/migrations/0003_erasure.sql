-- Erasure (docs/privacy.md): when a referral's personal details were erased (its data keys
-- destroyed, intake's copy scrubbed), by `hub erase` or by the retention job.
ALTER TABLE referrals ADD COLUMN erased_at timestamptz;
CREATE INDEX referrals_to_retire ON referrals (ended_at)
    WHERE erased_at IS NULL AND status IN ('closed', 'cancelled');
