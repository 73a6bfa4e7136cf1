-- What feedback keeps per referral to report its outcome to the police: references, codes
-- and dates only. No personal data and nothing of the support work.
CREATE TABLE referral_feedback (
    referral_id      uuid        PRIMARY KEY,
    force            text,
    -- (force, reference) pairs as '<force>:<intelligence_ref>', in the order received.
    intelligence     text[]      NOT NULL DEFAULT '{}',
    opened_at        timestamptz,
    first_contact_at timestamptz,
    agency           text,
    ended_at         timestamptz,
    outcome          text,
    reported_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Referrals ended and still waiting for their report (e.g. closed before the open arrived).
CREATE INDEX referral_feedback_unreported
    ON referral_feedback (ended_at) WHERE reported_at IS NULL AND ended_at IS NOT NULL;
