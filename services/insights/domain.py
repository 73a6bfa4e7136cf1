"""insights' fold. Pure: the facts kept about one referral, one piece of intelligence and the
directory, and how each event changes them. No I/O, no clock.

A referral's lifecycle is the shared one (``referral_schemas.lifecycle``), folded in log
order: an event ``lifecycle.evolve`` refuses (it landed where it has no effect, e.g. a late
ReferralRouted after a cancellation, or work recorded while held) is not counted anywhere.
Outcomes and cancellations are read from the terminal state, so a referral counts as one or
the other, never both; first contact is the shared definition (``first_contact_time``).

Only codes, ids, districts and times are kept: never a name, an address, a narrative or a
worker. The fold is deterministic and does not depend on the order of events across topics
(a referral's own events arrive in order, being keyed by its id), so replaying the topics
from offset 0 rebuilds the same facts, and so the same figures.

Areas: a referral's area is the one routing gave it (ReferralRouted / Rerouted, or an
escalation naming one); until routing gives one, the area of the district it was opened in.
A ReferralAmended's new district does not move it: routing's area stands, and before routing
the referral stays where its opening intelligence placed it (see ``ReferralFacts.district``).
Intelligence has no area of its own: its postcode district is kept and mapped to an area by
the directory version in force (the highest received) when figures are read, so the result
does not depend on whether the directory or the intelligence was consumed first.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from referral_schemas import (
    EngagementLevel,
    EngagementRecorded,
    EventData,
    IntelligenceSubmitted,
    Outcome,
    ReferralOpened,
    VisitCompleted,
    WithdrawalReason,
)
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Lifecycle, Refusal
from referral_schemas.lifecycle import evolve as evolve_lifecycle
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES, ReferralStatus
from referral_schemas.text import postcode_district

DISCREDITING_WITHDRAWALS = frozenset(
    {WithdrawalReason.DISCREDITED, WithdrawalReason.SUBMITTED_IN_ERROR}
)
"""Withdrawals that mean the intelligence was wrong, so its county line no longer counts.
Other withdrawals (operational sensitivity, a duplicate submission, the subject moving away)
stop the support work, but the county line was still reported truthfully."""


def engagement_verdict(outcome: Outcome | None, level: EngagementLevel | None) -> bool | None:
    """Whether a referral counts as engaged, for the engagement rate.

    - With an outcome recorded (ReferralCompleted or ReferralClosed, or the coordinator's
      EscalationClosed), the outcome decides: engaged if and only if it is
      ``engaged_with_support``.
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
    """What insights keeps about one referral: its shared lifecycle plus what only insights
    counts (the engagement level). The rest is read from the lifecycle."""

    referral_id: uuid.UUID
    lifecycle: Lifecycle | None = None
    """The shared lifecycle (None until ReferralOpened), without the worker it was assigned
    to (insights never keeps who did the work)."""
    engagement: EngagementLevel | None = None
    """The latest engagement level recorded (by its recorded_at)."""
    engagement_at: datetime | None = None
    district: str | None = None
    """Postcode district the referral was opened in (e.g. 'LA14'); its area if routing gave
    none. Kept from ReferralOpened alone: ``Lifecycle.district`` follows ReferralAmended,
    and an amendment does not move a referral between areas in the figures."""

    @property
    def force(self) -> str | None:
        return None if self.lifecycle is None else self.lifecycle.force

    @property
    def area(self) -> str | None:
        """The area routing placed it in (the latest routing event naming one)."""
        return None if self.lifecycle is None else self.lifecycle.area

    @property
    def opened_at(self) -> datetime | None:
        return None if self.lifecycle is None else self.lifecycle.opened_at

    @property
    def first_contact_at(self) -> datetime | None:
        """When the agency first reached the person (``lifecycle.first_contact_time``)."""
        return None if self.lifecycle is None else self.lifecycle.first_contact_at

    @property
    def outcome(self) -> Outcome | None:
        """The outcome the agency (or the coordinator) recorded; a close's corrects a
        completion's. Kept for the engagement verdict even if the referral was then
        cancelled; counted as an outcome only when the referral ended closed."""
        return None if self.lifecycle is None else self.lifecycle.outcome

    @property
    def outcome_at(self) -> datetime | None:
        """When it ended closed: the month its outcome counts in."""
        return self._ended_as(ReferralStatus.CLOSED)

    @property
    def cancelled_at(self) -> datetime | None:
        """When it ended cancelled: the month it counts as cancelled in."""
        return self._ended_as(ReferralStatus.CANCELLED)

    def _ended_as(self, status: ReferralStatus) -> datetime | None:
        life = self.lifecycle
        return life.ended_at if life is not None and life.status is status else None

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
    refusal: Refusal | None = None
    """Why the event had no effect (the facts are unchanged), if it had none."""


def tracks(data: EventData) -> bool:
    """Every referral lifecycle event: any of them may be refused or change the status."""
    return data.EVENT_TYPE in LIFECYCLE_EVENT_TYPES


def _engagement(facts: ReferralFacts, data: EngagementRecorded) -> ReferralFacts:
    if facts.engagement_at is not None and data.recorded_at < facts.engagement_at:
        return facts  # an older record does not replace a newer one
    return replace(facts, engagement=data.level, engagement_at=data.recorded_at)


def evolve(facts: ReferralFacts, data: EventData) -> ReferralFacts | Refusal:
    """The facts after one referral event in log order, or why it has no effect."""
    result = evolve_lifecycle(facts.lifecycle, data)
    if isinstance(result, Refusal):
        return result
    folded = replace(facts, lifecycle=replace(result, assigned_to=None))
    if isinstance(data, ReferralOpened):
        folded = replace(folded, district=data.postcode_district)
    if isinstance(data, EngagementRecorded):
        folded = _engagement(folded, data)
    return folded


def decide(facts: ReferralFacts, data: EventData, *, event_id: uuid.UUID) -> Change:
    """The referral's facts after one event, and the visit it records, if any."""
    folded = evolve(facts, data)
    if isinstance(folded, Refusal):
        return Change(facts, refusal=folded)
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
class AgencyView:
    code: str
    areas: tuple[str, ...]
    """The areas it serves: its staff read the figures of these areas (api/scope.py)."""


@dataclass(frozen=True)
class DirectoryView:
    """The parts of a directory version figures need: areas and their districts, and
    which areas each agency serves (whose figures its staff may read)."""

    version: int
    areas: tuple[AreaView, ...]
    agencies: tuple[AgencyView, ...] = ()


def directory_view(data: DirectoryPublished) -> DirectoryView:
    areas = tuple(
        AreaView(area.code, area.name, area.force, tuple(area.postcode_districts))
        for area in data.areas
    )
    agencies = tuple(AgencyView(agency.code, tuple(agency.areas)) for agency in data.agencies)
    return DirectoryView(data.version, areas, agencies)


def supersedes(version: int, in_force: int) -> bool:
    """The highest version received is in force, whatever order versions arrive in
    (``in_force`` is 0 before any)."""
    return version > in_force
