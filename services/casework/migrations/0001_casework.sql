-- The referrals this service knows, folded from referral.events. The queue columns are
-- copies of fields in "state" (the whole folded state), kept for ordering and filtering.
CREATE TABLE referrals (
    referral_id uuid        PRIMARY KEY,
    force       text        NOT NULL,
    agency      text,
    status      text        NOT NULL,
    area        text,
    risk_rank   smallint    NOT NULL,
    due_by      timestamptz,
    overdue     boolean     NOT NULL,
    held        boolean     NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    state       jsonb       NOT NULL
);
CREATE INDEX referrals_agency_queue ON referrals (agency, risk_rank DESC, due_by, referral_id);
CREATE INDEX referrals_force_queue ON referrals (force, risk_rank DESC, due_by, referral_id);

-- What happened to each referral, for its detail page: codes and ids only, no personal data.
CREATE TABLE timeline (
    seq         bigserial   PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    referral_id uuid        NOT NULL REFERENCES referrals (referral_id),
    type        text        NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    agency      text,
    summary     jsonb       NOT NULL
);
CREATE INDEX timeline_referral ON timeline (referral_id, seq);

-- Staff actions already performed, by (user, Idempotency-Key): a retry gets the same answer.
CREATE TABLE idempotency (
    user_id     text        NOT NULL,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    status_code smallint    NOT NULL,
    body        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
