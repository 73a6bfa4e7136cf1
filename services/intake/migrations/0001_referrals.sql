-- Referrals intake opened. Matching columns hold keyed hashes, not names or addresses.
CREATE TABLE referrals (
    referral_id       uuid        PRIMARY KEY,
    force             text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('open', 'cancelled')),
    risk_level        text        NOT NULL,
    reason_categories text[]      NOT NULL,
    visitor_safety    text[]      NOT NULL,
    subject_is_child  boolean     NOT NULL,
    person_key        bytea,
    address_key       bytea       NOT NULL,
    postcode_district text        NOT NULL,
    opened_at         timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX referrals_open_person ON referrals (person_key) WHERE status = 'open';
CREATE INDEX referrals_open_address ON referrals (address_key) WHERE status = 'open';
CREATE INDEX referrals_opened_at ON referrals (opened_at DESC);

-- Every piece of intelligence received, once per (force, reference), and what became of it.
CREATE TABLE intelligence (
    force             text        NOT NULL,
    intelligence_ref  text        NOT NULL,
    referral_id       uuid        NOT NULL REFERENCES referrals (referral_id),
    event_id          uuid        NOT NULL,
    link_basis        text,
    status            text        NOT NULL CHECK (status IN ('active', 'withdrawn')),
    received_at       timestamptz NOT NULL,
    withdrawn_at      timestamptz,
    withdrawal_reason text,
    PRIMARY KEY (force, intelligence_ref)
);
CREATE INDEX intelligence_referral ON intelligence (referral_id);
