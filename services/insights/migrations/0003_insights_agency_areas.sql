-- Which areas each agency of the directory in force serves: agency staff read the figures of
-- these areas only (services/insights/api/scope.py). Filled whenever a directory version
-- supersedes the one in force; emptied with the areas it names (ON DELETE CASCADE).
-- A read model migrated in place has no rows here until the next directory version is
-- published (`hub directory load`), or rebuild by replay (README, "Rebuild by replay"):
-- until then agency staff see no area, which is the safe side of deny by default.
CREATE TABLE agency_areas (
    agency text NOT NULL,
    area   text NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    PRIMARY KEY (agency, area)
);
