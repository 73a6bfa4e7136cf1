"""insights' fold. Pure: the facts kept about one referral, one piece of intelligence and the
directory, and how each event changes them. No I/O, no clock.

Only codes, ids, districts and times are kept: never a name, an address, a narrative or a
worker. The fold is deterministic and does not depend on the order of events across topics
(a referral's own events arrive in order, being keyed by its id), so replaying the topics
from offset 0 rebuilds the same facts, and so the same figures.

Areas: a referral's area is the one routing gave it (ReferralRouted / Rerouted, or an
escalation naming one). Intelligence has no area of its own: its postcode district is kept
and mapped to an area by the directory version in force (the highest received) when figures
are read, so the result does not depend on whether the directory or the intelligence was
consumed first.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from referral_schemas import (
    ContactAttempted,
    ContactResult,
    EngagementLevel,
    EngagementRecorded,
    EventData,
    IntelligenceSubmitted,
    Outcome,
    ReferralCancelled,
    ReferralClosed,
    ReferralCompleted,
    ReferralEscalated,
    ReferralOpened,
    ReferralRerouted,
    ReferralRouted,
    VisitCompleted,
    WithdrawalReason,
)
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.text import postcode_district

TRACKED: tuple[type[EventData], ...] = (
    ReferralOpened,
    ReferralRouted,
    ReferralRerouted,
    ReferralEscalated,
    ContactAttempted,
    VisitCompleted,
    EngagementRecorded,
    ReferralCompleted,
    ReferralClosed,
    ReferralCancelled,
)
"""The referral events insights folds; every other referral event is ignored."""

DISCREDITING_WITHDRAWALS = frozenset(
    {WithdrawalReason.DISCREDITED, WithdrawalReason.SUBMITTED_IN_ERROR}
)
"""Withdrawals that mean the intelligence was wrong, so its county line no longer counts.
Other withdrawals (operational sensitivity, a duplicate submission, the subject moving away)
stop the support work, but the county line was still reported truthfully."""


def engagement_verdict(outcome: Outcome | None, level: EngagementLevel | None) -> bool | None:
    """Whether a referral counts as engaged, for the engagement rate.

    - With an outcome recorded (ReferralCompleted or ReferralClosed), the outcome decides:
      engaged if and only if it is ``engaged_with_support``.
    - Otherwise the latest recorded engagement level decides: engaged if and only if it is
      ``engaged`` (``partially_engaged`` and ``declined_support`` are not engaged).
    - With neither, there is no verdict (None): the referral is left out of the rate.

    The engagement rate of a set of referrals is then (referrals with verdict True) /
    (referrals with any verdict), i.e. engaged / referrals with an engagement or outcome
    recorded; undefined (None) when no referral has a verdict.
    """
    if outcome is not None:
        return outcome is Outcome.ENGAGED_WITH_SUPPORT
    if level is not None:
        return level is EngagementLevel.ENGAGED
    return None


@dataclass(frozen=True)
class ReferralFacts:
    """What insights keeps about one referral."""

    referral_id: uuid.UUID
    force: str | None = None
    district: str | None = None
    """Postcode district of the address (e.g. 'LA14'); its area if routing gave none."""
    area: str | None = None
    """The area routing placed it in (the latest routing event naming one)."""
    opened_at: datetime | None = None
    first_contact_at: datetime | None = None
    """When the agency first reached the person: the earliest contact attempt where it spoke
    to them, or the earliest completed visit, whichever came first."""
    engagement: EngagementLevel | None = None
    """The latest engagement level recorded (by its recorded_at)."""
    engagement_at: datetime | None = None
    outcome: Outcome | None = None
    """The outcome recorded by the agency (a close confirms or corrects the completion's)."""
    outcome_at: datetime | None = None
    """When the outcome was first recorded (completion, or close if no completion came)."""
    cancelled_at: datetime | None = None

    @property
    def engaged(self) -> bool | None:
        return engagement_verdict(self.outcome, self.engagement)


@dataclass(frozen=True)
class Visit:
    """One completed visit, counted in the month it took place."""

    event_id: uuid.UUID
    referral_id: uuid.UUID
    visited_at: datetime


@dataclass(frozen=True)
class Change:
    facts: ReferralFacts
    visit: Visit | None = None


def tracks(data: EventData) -> bool:
    return isinstance(data, TRACKED)


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _fold(facts: ReferralFacts, data: EventData) -> ReferralFacts:
    match data:
        case ReferralOpened():
            return replace(
                facts, force=data.force, district=data.postcode_district, opened_at=data.opened_at
            )
        case ReferralRouted() | ReferralRerouted():
            return replace(facts, area=data.area)
        case ReferralEscalated() if data.area is not None:
            return replace(facts, area=data.area)
        case ContactAttempted() if data.result is ContactResult.SPOKE_TO_PERSON:
            return replace(
                facts, first_contact_at=_earliest(facts.first_contact_at, data.attempted_at)
            )
        case VisitCompleted():
            return replace(
                facts, first_contact_at=_earliest(facts.first_contact_at, data.visited_at)
            )
        case EngagementRecorded():
            if facts.engagement_at is not None and data.recorded_at < facts.engagement_at:
                return facts  # an older record does not replace a newer one
            return replace(facts, engagement=data.level, engagement_at=data.recorded_at)
        case ReferralCompleted():
            outcome_at = _earliest(facts.outcome_at, data.completed_at)
            return replace(facts, outcome=data.outcome, outcome_at=outcome_at)
        case ReferralClosed():
            outcome_at = _earliest(facts.outcome_at, data.closed_at)
            return replace(facts, outcome=data.outcome, outcome_at=outcome_at)
        case ReferralCancelled():
            return replace(facts, cancelled_at=_earliest(facts.cancelled_at, data.cancelled_at))
    return facts


def decide(facts: ReferralFacts, data: EventData, *, event_id: uuid.UUID) -> Change:
    """The referral's facts after one event, and the visit it records, if any."""
    folded = _fold(facts, data)
    if isinstance(data, VisitCompleted):
        return Change(folded, Visit(event_id, data.referral_id, data.visited_at))
    return Change(folded)


def normalise_county_line(name: str | None) -> str | None:
    """One spelling per line, so 'Danny ', 'DANNY' and 'danny' count once: spaces collapsed,
    upper case. None (or blank) when the intelligence names no line."""
    if name is None:
        return None
    cleaned = " ".join(name.split()).upper()
    return cleaned or None


@dataclass(frozen=True)
class IntelligenceFact:
    """What insights keeps of one piece of intelligence: where (district), which county
    line, when recorded. Keyed by the force's reference, so a resend counts once."""

    force: str
    intelligence_ref: str
    district: str
    county_line: str | None
    recorded_at: datetime


def intelligence_fact(data: IntelligenceSubmitted) -> IntelligenceFact:
    return IntelligenceFact(
        force=data.force,
        intelligence_ref=data.intelligence_ref,
        district=postcode_district(data.address.postcode),
        county_line=normalise_county_line(data.county_line),
        recorded_at=data.recorded_at,
    )


@dataclass(frozen=True)
class AreaView:
    code: str
    name: str
    force: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryView:
    """The parts of a directory version figures need: areas and their districts."""

    version: int
    areas: tuple[AreaView, ...]


def directory_view(data: DirectoryPublished) -> DirectoryView:
    areas = tuple(
        AreaView(area.code, area.name, area.force, tuple(area.postcode_districts))
        for area in data.areas
    )
    return DirectoryView(data.version, areas)


def supersedes(version: int, in_force: int) -> bool:
    """The highest version received is in force, whatever order versions arrive in
    (``in_force`` is 0 before any)."""
    return version > in_force
