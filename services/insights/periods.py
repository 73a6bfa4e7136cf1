"""Calendar months and the county-line window, in UTC. Pure.

Every figure is bucketed by calendar month in UTC: a month runs from 00:00 UTC on its first
day (inclusive) to 00:00 UTC on the first day of the next month (exclusive).

Active county lines as of a date D: the distinct county lines named in intelligence recorded
in the 28 days ending with D, i.e. ``recorded_at`` in [D - 27 days 00:00 UTC,
D + 1 day 00:00 UTC). For a month, D is the month's last day.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Self

COUNTY_LINE_WINDOW = timedelta(days=28)
MAX_MONTHS = 120
"""The most months one request may span (ten years)."""
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000
"""Dates outside these years are refused (they only ever come from typing mistakes)."""

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Self:
        """``"2025-03"`` -> Month(2025, 3); ValueError (not repeating the input) otherwise."""
        found = _MONTH.fullmatch(text)
        if found is None or not EARLIEST_YEAR <= int(found.group(1)) <= LATEST_YEAR:
            raise ValueError(
                f"a month is written YYYY-MM, e.g. 2025-03, between {EARLIEST_YEAR} "
                f"and {LATEST_YEAR}"
            )
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: date) -> Self:
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def starts_at(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """Exclusive: the first instant of the next month."""
        return self.next().starts_at

    @property
    def last_day(self) -> date:
        return (self.ends_at - timedelta(days=1)).date()


def in_range(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last``, both included; empty if ``last`` < ``first``."""
    months: list[Month] = []
    current = first
    while current <= last:
        months.append(current)
        current = current.next()
    return months


def county_line_window(as_of: date) -> tuple[datetime, datetime]:
    """[start, end) of the 28 days ending with ``as_of`` (the whole of that day included)."""
    end = datetime.combine(as_of + timedelta(days=1), time(), UTC)
    return end - COUNTY_LINE_WINDOW, end


@dataclass(frozen=True)
class MonthWindows:
    """What the figure queries need of one month."""

    month: Month
    starts_at: datetime
    ends_at: datetime
    lines_from: datetime
    lines_to: datetime


def month_windows(months: list[Month]) -> list[MonthWindows]:
    windows = []
    for month in months:
        lines_from, lines_to = county_line_window(month.last_day)
        windows.append(MonthWindows(month, month.starts_at, month.ends_at, lines_from, lines_to))
    return windows
