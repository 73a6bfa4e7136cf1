-- insights' read model: facts folded from events, figures computed from them by SQL.
-- Codes, ids, postcode districts and times only: no personal data.

-- The directory version in force (the highest received): areas and their districts.
CREATE TABLE directory_in_force (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    version    integer     NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE areas (
    code  text PRIMARY KEY,
    name  text NOT NULL,
    force text NOT NULL
);
CREATE TABLE area_districts (
    district text PRIMARY KEY,
    area     text NOT NULL REFERENCES areas (code) ON DELETE CASCADE
);

-- One row per referral.
CREATE TABLE referral_facts (
    referral_id      uuid        PRIMARY KEY,
    force            text,
    district         text,
    area             text,
    opened_at        timestamptz,
    first_contact_at timestamptz,
    engagement       text,
    engagement_at    timestamptz,
    outcome          text,
    outcome_at       timestamptz,
    cancelled_at     timestamptz,
    -- The engagement verdict (services/insights/domain.py engagement_verdict); null: none yet.
    engaged          boolean,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_facts_opened ON referral_facts (opened_at);
CREATE INDEX referral_facts_outcome ON referral_facts (outcome_at) WHERE outcome_at IS NOT NULL;
CREATE INDEX referral_facts_cancelled ON referral_facts (cancelled_at)
    WHERE cancelled_at IS NOT NULL;

-- One row per completed visit (by the VisitCompleted event's id).
CREATE TABLE visits (
    event_id    uuid        PRIMARY KEY,
    referral_id uuid        NOT NULL,
    visited_at  timestamptz NOT NULL
);
CREATE INDEX visits_visited ON visits (visited_at);

-- One row per piece of intelligence (by the force's reference): where, which line, when.
CREATE TABLE intelligence_facts (
    force            text        NOT NULL,
    intelligence_ref text        NOT NULL,
    district         text,
    county_line      text,
    recorded_at      timestamptz,
    -- Set by a withdrawal that says the intelligence was wrong; it then no longer counts.
    discredited      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (force, intelligence_ref)
);
CREATE INDEX intelligence_facts_lines ON intelligence_facts (recorded_at)
    WHERE county_line IS NOT NULL;
