"""Small-number suppression of the figures: what a reader who is not an auditor may see.
Pure: one row of exact figures in, the same row with some figures withheld out.

Why: a count of 1 to 4 referrals in one area and month can point at a person ("the one
referral in Kendal in March was never reached"), above all to someone who knows the area.
So, as in official statistics, such counts are shown as "fewer than 5" (the threshold is
``THRESHOLD``), and so is anything that would let one be worked out.

The rules, for one row (area and month); every withheld figure is ``None`` and named in
``withheld`` with the reason:

1. Primary: a count of people or their visits from 1 to 4 (``referrals_opened``,
   ``visits_completed``, ``referrals_contacted``, ``engagement_known``, ``engaged``,
   ``referrals_cancelled``, each outcome) is withheld as ``fewer_than_5``. 0 is shown.
2. Differences (secondary suppression): three counts are parts of another count of the same
   row, and the part not shown is a count of people too: of ``referrals_opened``, those
   *not* contacted (opened − contacted) and those with *no* engagement verdict yet
   (opened − engagement_known); of ``engagement_known``, those *not* engaged (known −
   engaged). Where the total is shown (5 or more) and the difference is 1 to 4, the part
   is withheld as ``reveals_small_count``, so the difference cannot be computed.
   The other way round is safe without more: a part withheld as fewer than 5 cannot be
   backed out of its total, because no figure gives the difference.
3. Derived figures: ``median_hours_to_first_contact`` of fewer than 5 contacted referrals and
   ``engagement_rate`` of fewer than 5 referrals with a verdict are withheld as
   ``from_fewer_than_5``; the rate is also withheld (``reveals_small_count``) when
   ``engaged`` or ``engagement_known`` is, since rate × known gives engaged back.

No figure adds up rows (areas or months), so no total across rows exists to difference.
``active_county_lines`` counts county lines (drug-dealing networks), not people, and the
programme reports them as such ("from six to zero"): it is never withheld.
Undefined figures (a median of no one, a rate of nothing) stay ``None`` and are not in
``withheld``.
"""

import enum
from dataclasses import dataclass, field
from typing import TypeVar

from services.insights.figures import FigureRow

THRESHOLD = 5
"""Counts from 1 to THRESHOLD - 1 are withheld."""


class Withheld(enum.StrEnum):
    """Why a figure is withheld (its value is null)."""

    FEWER_THAN_5 = "fewer_than_5"
    """A count from 1 to 4."""
    FROM_FEWER_THAN_5 = "from_fewer_than_5"
    """A median or rate of fewer than 5 referrals."""
    REVEALS_SMALL_COUNT = "reveals_small_count"
    """Shown, it would let a count from 1 to 4 be worked out from the row's other figures."""


COUNTS = (
    "referrals_opened",
    "visits_completed",
    "referrals_contacted",
    "engagement_known",
    "engaged",
    "referrals_cancelled",
)
_PARTS = (
    ("referrals_contacted", "referrals_opened"),
    ("engagement_known", "referrals_opened"),
    ("engaged", "engagement_known"),
)
"""(part, total): the difference total - part is a count of people no figure shows."""


@dataclass(frozen=True)
class ShownRow:
    """One area's figures in one month as a reader sees them: None where withheld (and
    named in ``withheld``) or undefined."""

    area: str | None
    area_name: str | None
    month: str
    referrals_opened: int | None
    visits_completed: int | None
    referrals_contacted: int | None
    median_hours_to_first_contact: float | None
    engagement_known: int | None
    engaged: int | None
    engagement_rate: float | None
    referrals_cancelled: int | None
    active_county_lines: int
    outcomes: dict[str, int | None]
    withheld: dict[str, Withheld] = field(default_factory=dict)
    """Figure name -> why it is withheld; an outcome as ``outcomes.<code>``."""


def _small(count: int) -> bool:
    return 0 < count < THRESHOLD


def _withheld(row: FigureRow) -> dict[str, Withheld]:
    reasons: dict[str, Withheld] = {}
    for name in COUNTS:
        if _small(getattr(row, name)):
            reasons[name] = Withheld.FEWER_THAN_5
    for code, count in row.outcomes.items():
        if _small(count):
            reasons[f"outcomes.{code}"] = Withheld.FEWER_THAN_5
    for part, total in _PARTS:
        whole: int = getattr(row, total)
        if part not in reasons and whole >= THRESHOLD and _small(whole - getattr(row, part)):
            reasons[part] = Withheld.REVEALS_SMALL_COUNT
    if _small(row.referrals_contacted):
        reasons["median_hours_to_first_contact"] = Withheld.FROM_FEWER_THAN_5
    if _small(row.engagement_known):
        reasons["engagement_rate"] = Withheld.FROM_FEWER_THAN_5
    elif row.engagement_known and ("engaged" in reasons or "engagement_known" in reasons):
        reasons["engagement_rate"] = Withheld.REVEALS_SMALL_COUNT
    return reasons


_Figure = TypeVar("_Figure", int, float)


def _value(name: str, value: _Figure | None, reasons: dict[str, Withheld]) -> _Figure | None:
    return None if name in reasons else value


def suppress(row: FigureRow) -> ShownRow:
    """The row with small counts, and what would reveal one, withheld."""
    reasons = _withheld(row)
    return ShownRow(
        area=row.area,
        area_name=row.area_name,
        month=row.month,
        referrals_opened=_value("referrals_opened", row.referrals_opened, reasons),
        visits_completed=_value("visits_completed", row.visits_completed, reasons),
        referrals_contacted=_value("referrals_contacted", row.referrals_contacted, reasons),
        median_hours_to_first_contact=_value(
            "median_hours_to_first_contact", row.median_hours_to_first_contact, reasons
        ),
        engagement_known=_value("engagement_known", row.engagement_known, reasons),
        engaged=_value("engaged", row.engaged, reasons),
        engagement_rate=_value("engagement_rate", row.engagement_rate, reasons),
        referrals_cancelled=_value("referrals_cancelled", row.referrals_cancelled, reasons),
        active_county_lines=row.active_county_lines,
        outcomes={
            code: _value(f"outcomes.{code}", count, reasons) for code, count in row.outcomes.items()
        },
        withheld=reasons,
    )


def exact(row: FigureRow) -> ShownRow:
    """The row as it is (for auditors): nothing withheld."""
    return ShownRow(
        area=row.area,
        area_name=row.area_name,
        month=row.month,
        referrals_opened=row.referrals_opened,
        visits_completed=row.visits_completed,
        referrals_contacted=row.referrals_contacted,
        median_hours_to_first_contact=row.median_hours_to_first_contact,
        engagement_known=row.engagement_known,
        engaged=row.engaged,
        engagement_rate=row.engagement_rate,
        referrals_cancelled=row.referrals_cancelled,
        active_county_lines=row.active_county_lines,
        outcomes=dict(row.outcomes),
    )
