"""The programme figures, computed by SQL from the facts (read-only, no locks).

Per area and calendar month (UTC; see periods.py). Only what the shared lifecycle accepted
counts (domain.py): a visit or contact it refused never happened for the figures.

- ``referrals_opened``: referrals whose ReferralOpened ``opened_at`` falls in the month.
- ``visits_completed``: VisitCompleted events whose ``visited_at`` falls in the month.
- ``referrals_contacted``: of the referrals opened in the month, those reached so far
  (first contact, the shared definition: the first contact attempt that spoke to the person
  or completed visit recorded).
- ``median_hours_to_first_contact``: of those, the median of (first contact - opened), in
  hours; the mean of the two middle values for an even count (``percentile_cont(0.5)``);
  None if none was reached. Referrals not reached yet are left out, so recent months move.
- ``engagement_known`` / ``engaged`` / ``engagement_rate``: of the referrals opened in the
  month, those with an engagement verdict, those engaged, and engaged / engagement_known
  (None when engagement_known is 0); see ``domain.engagement_verdict``.
- ``outcomes``: referrals that ended closed in the month (ReferralClosed, or the police
  coordinator's EscalationClosed), by their final outcome code (every code present, 0 when
  none).
- ``referrals_cancelled``: referrals that ended cancelled in the month (withdrawn
  intelligence, a duplicate, moved away, no longer required). A referral ends once, so it
  counts as an outcome or as a cancellation, never both.
- ``active_county_lines``: distinct county lines in intelligence recorded in the 28 days
  ending on the month's last day (discredited intelligence excluded).

A referral's area is the one routing gave it, else the area of the postcode district it was
opened in, in the directory in force (an amendment does not move it); intelligence's area
is that of its district. Rows with area None hold what no area of the directory covers.
Every area of the directory gets a row for every month, with zeros; an area no longer in
the directory appears only where it has figures.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from referral_schemas import Outcome

from services.insights.periods import (
    Month,
    MonthWindows,
    county_line_window,
    month_range,
    month_windows,
)
from services.runtime.db import Connection

OUTCOME_CODES = tuple(outcome.value for outcome in Outcome)

_MONTHS = """months AS (
    SELECT * FROM unnest($1::date[], $2::timestamptz[], $3::timestamptz[],
                         $4::timestamptz[], $5::timestamptz[])
        AS m(month, starts_at, ends_at, lines_from, lines_to))"""

_REFERRALS = """referrals AS (
    SELECT r.*, COALESCE(r.area, d.area) AS area_code
      FROM referral_facts r LEFT JOIN area_districts d ON d.district = r.district)"""

# $6: one area asked for; $7: the areas the reader may see (None: every area and none).
_AREA_FILTER = (
    "($6::text IS NULL OR area_code = $6) AND ($7::text[] IS NULL OR area_code = ANY($7::text[]))"
)

_COHORT_SQL = f"""WITH {_MONTHS}, {_REFERRALS}
SELECT area_code, m.month,
       count(*) AS referrals_opened,
       count(first_contact_at) AS referrals_contacted,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_contact_at - opened_at) / 3600
       ) AS median_hours,
       count(engaged) AS engagement_known,
       count(*) FILTER (WHERE engaged) AS engaged
  FROM referrals JOIN months m ON opened_at >= m.starts_at AND opened_at < m.ends_at
 WHERE {_AREA_FILTER}
 GROUP BY area_code, m.month"""

_VISITS_SQL = f"""WITH {_MONTHS}, {_REFERRALS}
SELECT area_code, m.month, count(*) AS visits_completed
  FROM visits v
  JOIN months m ON v.visited_at >= m.starts_at AND v.visited_at < m.ends_at
  LEFT JOIN referrals USING (referral_id)
 WHERE {_AREA_FILTER}
 GROUP BY area_code, m.month"""

_OUTCOMES_SQL = f"""WITH {_MONTHS}, {_REFERRALS}
SELECT area_code, m.month, outcome, count(*) AS referrals
  FROM referrals JOIN months m ON outcome_at >= m.starts_at AND outcome_at < m.ends_at
 WHERE outcome IS NOT NULL AND {_AREA_FILTER}
 GROUP BY area_code, m.month, outcome"""

_CANCELLED_SQL = f"""WITH {_MONTHS}, {_REFERRALS}
SELECT area_code, m.month, count(*) AS referrals_cancelled
  FROM referrals JOIN months m ON cancelled_at >= m.starts_at AND cancelled_at < m.ends_at
 WHERE {_AREA_FILTER}
 GROUP BY area_code, m.month"""

_LINES_SQL = f"""WITH {_MONTHS}, intelligence AS (
    SELECT i.county_line, i.recorded_at, d.area AS area_code
      FROM intelligence_facts i LEFT JOIN area_districts d ON d.district = i.district
     WHERE i.county_line IS NOT NULL AND NOT i.discredited)
SELECT area_code, m.month, count(DISTINCT county_line) AS active_county_lines
  FROM intelligence
  JOIN months m ON recorded_at >= m.lines_from AND recorded_at < m.lines_to
 WHERE {_AREA_FILTER}
 GROUP BY area_code, m.month"""


@dataclass
class FigureRow:
    area: str | None
    area_name: str | None
    month: str
    referrals_opened: int = 0
    visits_completed: int = 0
    referrals_contacted: int = 0
    median_hours_to_first_contact: float | None = None
    engagement_known: int = 0
    engaged: int = 0
    engagement_rate: float | None = None
    referrals_cancelled: int = 0
    active_county_lines: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_CODES, 0))


def _arguments(
    windows: list[MonthWindows], area: str | None, scope: frozenset[str] | None
) -> list[Any]:
    return [
        [w.month.starts_at.date() for w in windows],
        [w.starts_at for w in windows],
        [w.ends_at for w in windows],
        [w.lines_from for w in windows],
        [w.lines_to for w in windows],
        area,
        None if scope is None else sorted(scope),
    ]


async def _area_names(conn: Connection) -> dict[str, str]:
    rows = await conn.fetch("SELECT code, name FROM areas ORDER BY code")
    return {row["code"]: row["name"] for row in rows}


async def figures(
    conn: Connection,
    first: Month,
    last: Month,
    area: str | None = None,
    scope: frozenset[str] | None = None,
) -> list[FigureRow]:
    """Rows ordered by area code (None last), then month; only the areas in ``scope`` (and
    no row of what no area covers) unless ``scope`` is None."""
    windows = month_windows(month_range(first, last))
    args = _arguments(windows, area, scope)
    names = await _area_names(conn)
    rows: dict[tuple[str | None, str], FigureRow] = {}

    def row(record: asyncpg.Record) -> FigureRow:
        key = (record["area_code"], str(Month.of(record["month"])))
        if key not in rows:
            rows[key] = FigureRow(key[0], names.get(key[0] or ""), key[1])
        return rows[key]

    listed = [code for code in names if area is None or code == area]
    for code in [code for code in listed if scope is None or code in scope]:
        for w in windows:
            rows[(code, str(w.month))] = FigureRow(code, names[code], str(w.month))
    for record in await conn.fetch(_COHORT_SQL, *args):
        target = row(record)
        target.referrals_opened = record["referrals_opened"]
        target.referrals_contacted = record["referrals_contacted"]
        median = record["median_hours"]
        target.median_hours_to_first_contact = None if median is None else round(median, 2)
        target.engagement_known = record["engagement_known"]
        target.engaged = record["engaged"]
        known = target.engagement_known
        target.engagement_rate = round(target.engaged / known, 4) if known else None
    for record in await conn.fetch(_VISITS_SQL, *args):
        row(record).visits_completed = record["visits_completed"]
    for record in await conn.fetch(_OUTCOMES_SQL, *args):
        row(record).outcomes[record["outcome"]] = record["referrals"]
    for record in await conn.fetch(_CANCELLED_SQL, *args):
        row(record).referrals_cancelled = record["referrals_cancelled"]
    for record in await conn.fetch(_LINES_SQL, *args):
        row(record).active_county_lines = record["active_county_lines"]
    return sorted(rows.values(), key=lambda r: (r.area is None, r.area or "", r.month))


@dataclass(frozen=True)
class CountyLines:
    area: str | None
    area_name: str | None
    active_county_lines: int


@dataclass(frozen=True)
class CountyLinesAsOf:
    as_of: date
    window_from: datetime
    window_to: datetime
    areas: list[CountyLines]


_LINES_AS_OF_SQL = """SELECT d.area AS area_code, count(DISTINCT i.county_line) AS lines
  FROM intelligence_facts i LEFT JOIN area_districts d ON d.district = i.district
 WHERE i.county_line IS NOT NULL AND NOT i.discredited
   AND i.recorded_at >= $1 AND i.recorded_at < $2
 GROUP BY d.area"""


async def county_lines(
    conn: Connection, as_of: date, scope: frozenset[str] | None = None
) -> CountyLinesAsOf:
    """Active county lines per area as of ``as_of``: every area of the directory listed, or
    only those in ``scope`` (and then not what no area covers)."""
    start, end = county_line_window(as_of)
    names = await _area_names(conn)
    counts: dict[str | None, int] = dict.fromkeys(names, 0)
    for record in await conn.fetch(_LINES_AS_OF_SQL, start, end):
        counts[record["area_code"]] = record["lines"]
    if scope is not None:
        counts = {code: lines for code, lines in counts.items() if code in scope}
    ordered = sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or ""))
    areas = [CountyLines(code, names.get(code or ""), lines) for code, lines in ordered]
    return CountyLinesAsOf(as_of, start, end, areas)
