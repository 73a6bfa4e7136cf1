"""The figures of facts kept in memory: the Python twin of figures.py's SQL, for the
in-memory store (store.py), so handler tests can read what a reader would see. The
definitions are figures.py's; the store contract suite
(tests/integration/test_insights_store_contract.py) checks both give the same rows."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from services.insights.domain import DirectoryView, IntelligenceFact, ReferralFacts, Visit
from services.insights.figures import FigureRow
from services.insights.periods import Month, MonthWindows, month_range, month_windows

Key = tuple[str | None, str]


@dataclass(frozen=True)
class Kept:
    """What the figures are computed from (intelligence: what still counts)."""

    referrals: list[ReferralFacts]
    visits: list[Visit]
    intelligence: list[IntelligenceFact]
    directory: DirectoryView | None


def _month(windows: list[MonthWindows], moment: datetime | None) -> str | None:
    for w in windows:
        if moment is not None and w.starts_at <= moment < w.ends_at:
            return str(w.month)
    return None


def _line_months(windows: list[MonthWindows], moment: datetime | None) -> Iterable[str]:
    return [
        str(w.month) for w in windows if moment is not None and w.lines_from <= moment < w.lines_to
    ]


class _Rows:
    def __init__(
        self, names: dict[str, str], area: str | None, scope: frozenset[str] | None
    ) -> None:
        self.names, self.area, self.scope = names, area, scope
        self.rows: dict[Key, FigureRow] = {}

    def shown(self, code: str | None) -> bool:
        if self.area is not None and code != self.area:
            return False
        return self.scope is None or code in self.scope

    def row(self, code: str | None, month: str) -> FigureRow:
        key = (code, month)
        if key not in self.rows:
            self.rows[key] = FigureRow(code, self.names.get(code or ""), month)
        return self.rows[key]


def figures(
    kept: Kept,
    first: Month,
    last: Month,
    area: str | None = None,
    scope: frozenset[str] | None = None,
) -> list[FigureRow]:
    """As ``figures.figures``: rows ordered by area code (None last), then month."""
    windows = month_windows(month_range(first, last))
    areas = () if kept.directory is None else kept.directory.areas
    names = {a.code: a.name for a in sorted(areas, key=lambda a: a.code)}
    of_district = {district: a.code for a in areas for district in a.districts}
    rows = _Rows(names, area, scope)
    for listed in filter(rows.shown, names):
        for w in windows:
            rows.row(listed, str(w.month))

    area_of = {r.referral_id: r.area or of_district.get(r.district or "") for r in kept.referrals}
    _referrals(rows, windows, kept.referrals, area_of)
    for visit in kept.visits:
        seen_in = _month(windows, visit.visited_at)
        visit_area = area_of.get(visit.referral_id)
        if seen_in is not None and rows.shown(visit_area):
            rows.row(visit_area, seen_in).visits_completed += 1
    lines: dict[Key, set[str]] = defaultdict(set)
    for fact in kept.intelligence:
        line_area = of_district.get(fact.district)
        for month in _line_months(windows, fact.recorded_at):
            if fact.county_line is not None and rows.shown(line_area):
                lines[(line_area, month)].add(fact.county_line)
    for (line_area, month), names_seen in lines.items():
        rows.row(line_area, month).active_county_lines = len(names_seen)
    return sorted(rows.rows.values(), key=lambda r: (r.area is None, r.area or "", r.month))


def _referrals(
    rows: _Rows,
    windows: list[MonthWindows],
    referrals: list[ReferralFacts],
    area_of: dict[uuid.UUID, str | None],
) -> None:
    """The cohort figures by the month opened; outcomes and cancellations by the month
    the referral ended."""
    cohorts: dict[Key, list[ReferralFacts]] = defaultdict(list)
    for facts in referrals:
        code = area_of[facts.referral_id]
        if not rows.shown(code):
            continue
        opened_in = _month(windows, facts.opened_at)
        if opened_in is not None:
            cohorts[(code, opened_in)].append(facts)
        closed_in = _month(windows, facts.outcome_at)
        if closed_in is not None and facts.outcome is not None:
            rows.row(code, closed_in).outcomes[facts.outcome.value] += 1
        cancelled_in = _month(windows, facts.cancelled_at)
        if cancelled_in is not None:
            rows.row(code, cancelled_in).referrals_cancelled += 1
    for (code, month), cohort in cohorts.items():
        _cohort(rows.row(code, month), cohort)


def _cohort(row: FigureRow, cohort: list[ReferralFacts]) -> None:
    hours = [
        (f.first_contact_at - f.opened_at).total_seconds() / 3600
        for f in cohort
        if f.first_contact_at is not None and f.opened_at is not None
    ]
    verdicts = [f.engaged for f in cohort if f.engaged is not None]
    row.referrals_opened = len(cohort)
    row.referrals_contacted = len(hours)
    row.median_hours_to_first_contact = round(median(hours), 2) if hours else None
    row.engagement_known = len(verdicts)
    row.engaged = sum(verdicts)
    known = row.engagement_known
    row.engagement_rate = round(row.engaged / known, 4) if known else None
