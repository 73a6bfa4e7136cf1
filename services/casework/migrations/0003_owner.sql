-- casework folds referral.events with the shared lifecycle: "state" is the log's fold alone
-- (what an audit replay rebuilds). casework's own decisions written to the outbox but not
-- yet read back from the log wait in "pending" (their envelopes, in decision order); the
-- queue columns show "state" with them laid over it, so staff see their action at once.
ALTER TABLE referrals ADD COLUMN pending jsonb NOT NULL DEFAULT '[]';

-- An SLA breach no longer flags a referral: casework answers it with OfferExpired and the
-- offer leaves the agency. Overdue is derived from the running deadline (due_by).
ALTER TABLE referrals DROP COLUMN overdue;

-- An event the shared fold refused where it landed (e.g. a late ReferralRouted after the
-- referral was cancelled) is on the timeline with the refusal's code, and changed nothing.
ALTER TABLE timeline ADD COLUMN no_effect text;

-- The directory versions received on hub.directory, as casework needs them: the agencies
-- (code, name, active, areas) a police coordinator may direct a referral to. No personal data.
CREATE TABLE directory (
    version     bigint      PRIMARY KEY,
    agencies    jsonb       NOT NULL,
    received_at timestamptz NOT NULL
);
