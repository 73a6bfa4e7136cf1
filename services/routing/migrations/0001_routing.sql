-- Every directory version routing received, whole (the DirectoryPublished data).
-- The highest version is in force.
CREATE TABLE directory_versions (
    version      bigint      PRIMARY KEY,
    data         jsonb       NOT NULL,
    event_id     uuid        NOT NULL,
    published_at timestamptz NOT NULL,
    received_at  timestamptz NOT NULL
);

-- One row per referral routing has seen opened. No personal data: the postcode district
-- (an area of thousands of homes) is all routing needs.
CREATE TABLE referrals (
    referral_id       uuid        PRIMARY KEY,
    correlation_id    uuid        NOT NULL,
    postcode_district text        NOT NULL,
    opened_at         timestamptz NOT NULL,
    status            text        NOT NULL CHECK (status IN ('awaiting_directory', 'routing',
                                      'accepted', 'escalated', 'cancelled', 'closed')),
    area              text,
    agency            text,
    tried_agencies    text[]      NOT NULL DEFAULT '{}',
    due_by            timestamptz,
    directory_version bigint,
    escalation_reason text,
    updated_at        timestamptz NOT NULL
);
-- Open counts per agency are derived from this index, never kept as a counter.
CREATE INDEX referrals_holding_capacity ON referrals (agency)
    WHERE status IN ('routing', 'accepted');
CREATE INDEX referrals_awaiting_directory ON referrals (opened_at)
    WHERE status = 'awaiting_directory';

-- Durable acceptance deadlines: at most one per referral, for the agency it waits on.
-- The timer loop deletes a due row and enqueues SlaBreached in one transaction.
CREATE TABLE timers (
    referral_id    uuid        PRIMARY KEY REFERENCES referrals (referral_id),
    agency         text        NOT NULL,
    due_by         timestamptz NOT NULL,
    correlation_id uuid        NOT NULL,
    causation_id   uuid        NOT NULL
);
CREATE INDEX timers_due_by ON timers (due_by);
