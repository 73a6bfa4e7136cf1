-- Routing folds each referral's lifecycle from the log (referral_schemas.lifecycle), its own
-- events included, and keeps its decisions not yet seen on the log beside it:
--   lifecycle      the log's state (a Lifecycle as JSON)
--   pending        routing's own events decided but not yet seen on the log, in order
--   reroute_cause  why the referral last left an agency (declined / deadline missed)
-- The other columns describe the referral as routing counts it (the log's state with the
-- pending decisions laid over it): status, agency, area and escalation reason; the agency
-- whose capacity it takes (holding_agency); and its place in the queue of escalations
-- routing retries itself (retry_order, set while escalated for lack of capacity or coverage).

DROP TRIGGER referrals_count_open ON referrals;
ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
DROP INDEX referrals_awaiting_directory;

ALTER TABLE referrals
    ADD COLUMN lifecycle      jsonb,
    ADD COLUMN pending        jsonb  NOT NULL DEFAULT '[]',
    ADD COLUMN reroute_cause  text,
    ADD COLUMN holding_agency text,
    ADD COLUMN retry_order    bigint;

-- Referrals routed before this version: their lifecycle as routing's own columns knew it.
-- Routing never kept the force (it does not use it) nor when an escalation happened (the
-- last update is the nearest it knows).
UPDATE referrals SET status = CASE status
    WHEN 'awaiting_directory' THEN 'opened'
    WHEN 'routing' THEN 'awaiting_acceptance'
    ELSE status END;
UPDATE referrals SET
    agency = CASE WHEN status IN ('awaiting_acceptance', 'accepted') THEN agency END,
    holding_agency = CASE WHEN status IN ('awaiting_acceptance', 'accepted') THEN agency END,
    escalation_reason = CASE WHEN status = 'escalated' THEN escalation_reason END,
    lifecycle = jsonb_build_object(
        'referral_id', referral_id,
        'force', 'unknown',
        'opened_at', opened_at,
        'district', postcode_district,
        'status', status,
        'agency', CASE WHEN status IN ('awaiting_acceptance', 'accepted') THEN agency END,
        'area', area,
        'tried', to_jsonb(tried_agencies),
        'due_by', CASE WHEN status = 'awaiting_acceptance' THEN due_by END,
        'escalation_reason', CASE WHEN status = 'escalated' THEN escalation_reason END,
        'escalated_at', CASE WHEN status = 'escalated' THEN updated_at END,
        'ended_at', CASE WHEN status IN ('closed', 'cancelled') THEN updated_at END);

CREATE SEQUENCE escalation_retry_order;
UPDATE referrals r SET retry_order = q.n
  FROM (SELECT referral_id, row_number() OVER (ORDER BY updated_at, referral_id) AS n
          FROM referrals
         WHERE status = 'escalated'
           AND escalation_reason IN ('no_agency_with_capacity', 'no_agency_covers_area')) q
 WHERE r.referral_id = q.referral_id;
SELECT setval('escalation_retry_order', COALESCE(max(retry_order), 0) + 1, false) FROM referrals;

ALTER TABLE referrals
    ALTER COLUMN lifecycle SET NOT NULL,
    DROP COLUMN postcode_district,
    DROP COLUMN tried_agencies,
    DROP COLUMN due_by,
    DROP COLUMN directory_version,
    ADD CONSTRAINT referrals_status_check CHECK (status IN ('opened', 'awaiting_acceptance',
        'rerouting', 'escalated', 'accepted', 'completed', 'closed', 'cancelled'));

-- Waiting for a directory (or, should one be missing, for a reroute), oldest first.
CREATE INDEX referrals_waiting ON referrals (opened_at) WHERE status IN ('opened', 'rerouting');
-- The escalations routing retries, in the order they were escalated.
CREATE INDEX referrals_awaiting_retry ON referrals (retry_order) WHERE retry_order IS NOT NULL;

-- Open counts now follow holding_agency: the counts always equal
--   SELECT holding_agency, count(*) FROM referrals
--    WHERE holding_agency IS NOT NULL GROUP BY holding_agency
CREATE OR REPLACE FUNCTION count_open_referrals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_holding text;  -- the agency whose capacity the row held before, if any
    now_holding text;  -- the agency whose capacity it holds now, if any
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        was_holding := OLD.holding_agency;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        now_holding := NEW.holding_agency;
    END IF;
    IF was_holding IS NOT DISTINCT FROM now_holding THEN
        RETURN NULL;
    END IF;
    IF was_holding IS NOT NULL THEN
        UPDATE agency_open_counts SET open = open - 1 WHERE agency = was_holding;
    END IF;
    IF now_holding IS NOT NULL THEN
        INSERT INTO agency_open_counts (agency, open) VALUES (now_holding, 1)
        ON CONFLICT (agency) DO UPDATE SET open = agency_open_counts.open + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER referrals_count_open
    AFTER INSERT OR UPDATE OF holding_agency OR DELETE ON referrals
    FOR EACH ROW EXECUTE FUNCTION count_open_referrals();

UPDATE agency_open_counts SET open = 0;
INSERT INTO agency_open_counts (agency, open)
SELECT holding_agency, count(*) FROM referrals
 WHERE holding_agency IS NOT NULL
 GROUP BY holding_agency
ON CONFLICT (agency) DO UPDATE SET open = EXCLUDED.open;
