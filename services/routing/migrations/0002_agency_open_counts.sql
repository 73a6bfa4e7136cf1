-- Open referrals per agency (status routing or accepted), kept as a row per agency so a
-- routing decision reads a handful of rows instead of aggregating every open referral.
-- A trigger on referrals keeps it in the same statement, and so the same transaction, as
-- every save of a referral, whoever writes it: the counts always equal
--   SELECT agency, count(*) FROM referrals
--    WHERE status IN ('routing', 'accepted') AND agency IS NOT NULL GROUP BY agency
-- An agency whose referrals all closed keeps its row with open = 0.
CREATE TABLE agency_open_counts (
    agency text    PRIMARY KEY,
    open   integer NOT NULL CHECK (open >= 0)
);

INSERT INTO agency_open_counts (agency, open)
SELECT agency, count(*) FROM referrals
 WHERE status IN ('routing', 'accepted') AND agency IS NOT NULL
 GROUP BY agency;

CREATE FUNCTION count_open_referrals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_holding text;  -- the agency whose capacity the row held before, if any
    now_holding text;  -- the agency whose capacity it holds now, if any
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('routing', 'accepted') THEN
        was_holding := OLD.agency;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('routing', 'accepted') THEN
        now_holding := NEW.agency;
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
    AFTER INSERT OR UPDATE OF status, agency OR DELETE ON referrals
    FOR EACH ROW EXECUTE FUNCTION count_open_referrals();

-- The aggregate no longer runs on every decision; the counts table replaces this index.
DROP INDEX referrals_holding_capacity;
