-- The audit ledger: one entry per distinct record on every topic, hash-chained overall (by
-- position) and per referral. Metadata and a sha256 of the record's bytes only: never the
-- payload, never personal data in clear (see docs/audit.md for what each column holds).
CREATE TABLE ledger (
    position            bigint      PRIMARY KEY CHECK (position >= 1),
    identity            text        NOT NULL UNIQUE,
    topic               text        NOT NULL,
    partition           integer     NOT NULL,
    "offset"            bigint      NOT NULL,
    record_timestamp_ms bigint,
    key_sha256          text,
    value_sha256        text        NOT NULL,
    value_bytes         integer     NOT NULL,
    event_id            uuid,
    type                text,
    event_time          timestamptz,
    actor               text,
    agency              text,
    subject             text,
    correlation_id      uuid,
    referral_id         uuid,
    category            text,
    recipients          text[]      NOT NULL DEFAULT '{}',
    purpose             text,
    intelligence        text,
    parse_error         text,
    dead_letter         jsonb,
    prev_hash           bytea       NOT NULL,
    hash                bytea       NOT NULL UNIQUE,
    referral_prev_hash  bytea,
    referral_hash       bytea,
    -- When the ledger appended it. Not covered by the hash (a replay cannot reproduce it).
    ledgered_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX ledger_referral ON ledger (referral_id, position) WHERE referral_id IS NOT NULL;
CREATE INDEX ledger_intelligence ON ledger (intelligence) WHERE intelligence IS NOT NULL;
CREATE INDEX ledger_ledgered_at ON ledger (ledgered_at);

-- Further records of something already ledgered (a resent event, a republished outbox row,
-- a redelivered dead letter): kept so every record on the topics is accounted for.
CREATE TABLE ledger_copies (
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    identity     text        NOT NULL,
    -- No foreign key to ledger: its check takes a row lock (FOR KEY SHARE), which needs the
    -- UPDATE right this role gives up below. Appends write the entry before any copy of it.
    of_position  bigint      NOT NULL,
    value_sha256 text        NOT NULL,
    ledgered_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (topic, partition, "offset")
);

-- Signed statements of the chain head (Ed25519; the key is a file, not in the database).
CREATE TABLE checkpoints (
    sequence   bigint      PRIMARY KEY CHECK (sequence >= 1),
    count      bigint      NOT NULL,
    head       text        NOT NULL,
    signed_at  timestamptz NOT NULL,
    previous   text,
    key_id     text        NOT NULL,
    signature  text        NOT NULL
);

-- Append-only. The service's role owns its schema, and an owner can grant itself rights
-- back: the REVOKE stops ordinary use, the triggers stop even the owner's UPDATE, DELETE and
-- TRUNCATE. A superuser can still disable triggers: verification and the signed
-- checkpoints are what detect that.
CREATE FUNCTION refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- Statement triggers: they fire even when no row matches.
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER copies_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_copies
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
REVOKE UPDATE, DELETE, TRUNCATE ON ledger, ledger_copies, checkpoints FROM CURRENT_USER;
