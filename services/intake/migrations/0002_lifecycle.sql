-- Intake follows the referral lifecycle (docs/lifecycle-contract.md, "Intake").
--
-- A referral's status in intake: 'open' (new intelligence links to it),
-- 'cancellation_requested' (all its intelligence was withdrawn; casework decides), and the
-- ends folded from referral.events, 'closed' and 'cancelled'. Only 'open' referrals link.
ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
ALTER TABLE referrals ADD CONSTRAINT referrals_status_check
    CHECK (status IN ('open', 'cancellation_requested', 'closed', 'cancelled'));
ALTER TABLE referrals
    ADD COLUMN lifecycle            jsonb,
    ADD COLUMN ended_at             timestamptz,
    ADD COLUMN previous_referral_id uuid;
COMMENT ON COLUMN referrals.lifecycle IS
    'referral_schemas.lifecycle.Lifecycle folded from referral.events; NULL until intake '
    'has read its own ReferralOpened back';
-- New intelligence about the person or address of an ended referral names it as previous.
CREATE INDEX referrals_ended_person ON referrals (person_key, ended_at DESC)
    WHERE status <> 'open';
CREATE INDEX referrals_ended_address ON referrals (address_key, ended_at DESC)
    WHERE status <> 'open';

-- What each piece of intelligence contributes to its referral, so a partial withdrawal can
-- recompute the referral from what remains. The subject (name, date of birth, phone) and
-- address are the only personal data intake keeps; they are erased (set to NULL) when the
-- intelligence is withdrawn or its referral ends.
ALTER TABLE intelligence
    ADD COLUMN position         integer,
    ADD COLUMN person_key       bytea,
    ADD COLUMN address_key      bytea,
    ADD COLUMN subject_is_child boolean,
    ADD COLUMN indicators       text[],
    ADD COLUMN visitor_safety   text[],
    ADD COLUMN subject          jsonb,
    ADD COLUMN address          jsonb;

-- Intelligence received before this version: it contributes what its referral says (the
-- best known), and nothing personal, so a withdrawal recomputes risk and reasons but cannot
-- name a new subject (no ReferralAmended is published for such a referral).
UPDATE intelligence i
   SET position = sub.position,
       person_key = CASE WHEN i.link_basis IS NULL OR i.link_basis <> 'same_address'
                         THEN r.person_key END,
       address_key = r.address_key,
       subject_is_child = r.subject_is_child AND (i.link_basis IS DISTINCT FROM 'same_address'),
       indicators = r.reason_categories,
       visitor_safety = r.visitor_safety
  FROM referrals r,
       (SELECT force, intelligence_ref,
               (row_number() OVER (PARTITION BY referral_id ORDER BY received_at) - 1)::integer
                   AS position
          FROM intelligence) sub
 WHERE r.referral_id = i.referral_id
   AND sub.force = i.force AND sub.intelligence_ref = i.intelligence_ref;
UPDATE referrals SET ended_at = updated_at WHERE status <> 'open';

ALTER TABLE intelligence
    ALTER COLUMN position SET NOT NULL,
    ALTER COLUMN address_key SET NOT NULL,
    ALTER COLUMN subject_is_child SET NOT NULL,
    ALTER COLUMN indicators SET NOT NULL,
    ALTER COLUMN visitor_safety SET NOT NULL;

-- A withdrawal that arrived before the intelligence it withdraws: remembered, so the
-- submission that follows opens nothing (it is dead-lettered: withdrawn_before_submission).
CREATE TABLE withdrawals_before_submission (
    force            text        NOT NULL,
    intelligence_ref text        NOT NULL,
    event_id         uuid        NOT NULL,
    reason           text        NOT NULL,
    withdrawn_at     timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    PRIMARY KEY (force, intelligence_ref)
);
