"""Routing's decisions. Pure: state, the directory in force, open counts, the time and the
ISA version go in; the new state and the event to publish come out.

An agency is *suitable* for a district when it is active, covers the district's area and
offers vulnerability visits. A referral goes to the suitable agency it has not tried yet
with room left (open referrals < capacity), least loaded first (open/capacity), then by code.
"""

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from referral_schemas import ReferralOpened
from referral_schemas.directory_v1 import Agency, DirectoryPublished, ServiceKind
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    ReferralAccepted,
    ReferralDeclined,
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
    SlaBreached,
)

ROUTED_SERVICE = ServiceKind.VULNERABILITY_VISIT
"""The service a referral asks of an agency: a vulnerability visit to the person's home."""


class Status(enum.StrEnum):
    AWAITING_DIRECTORY = "awaiting_directory"
    ROUTING = "routing"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
    CLOSED = "closed"


HOLDS_CAPACITY = frozenset({Status.ROUTING, Status.ACCEPTED})
"""A referral in these states counts against its current agency's capacity."""


@dataclass(frozen=True)
class RoutingState:
    """What routing keeps about one referral."""

    referral_id: uuid.UUID
    correlation_id: uuid.UUID
    """The referral's chain; events routing publishes later (timers, directory) carry it."""
    district: str
    opened_at: datetime
    status: Status
    area: str | None = None
    agency: str | None = None
    """The agency the referral waits on or was accepted by; None before routing or after
    an escalation."""
    tried: tuple[str, ...] = ()
    """Every agency it was routed to so far, in order; none is offered it twice."""
    due_by: datetime | None = None
    directory_version: int | None = None
    escalation_reason: EscalationReason | None = None


RoutingEvent = ReferralRouted | ReferralRerouted | ReferralEscalated


@dataclass(frozen=True)
class Decision:
    state: RoutingState
    event: RoutingEvent | None
    """None when only the state changes (accepted, cancelled, awaiting the directory)."""


def suitable_agencies(directory: DirectoryPublished, area_code: str) -> list[Agency]:
    return [
        a
        for a in directory.agencies
        if a.active and area_code in a.areas and ROUTED_SERVICE in a.services
    ]


def choose_agency(
    directory: DirectoryPublished,
    district: str,
    tried_agencies: Iterable[str],
    open_counts: Mapping[str, int],
    *,
    cause: RerouteCause | None = None,
) -> Agency | EscalationReason:
    """The agency to offer the referral to next, or why there is none.

    ``cause`` is why the referral is being rerouted (None on first routing); it names the
    escalation when every suitable agency has already had its chance.
    """
    area = directory.area_for_district(district)
    if area is None:
        return EscalationReason.NO_AGENCY_COVERS_AREA
    suitable = suitable_agencies(directory, area.code)
    if not suitable:
        return EscalationReason.NO_AGENCY_COVERS_AREA
    tried = set(tried_agencies)
    untried = [a for a in suitable if a.code not in tried]
    if not untried:
        if cause is RerouteCause.ACCEPTANCE_DEADLINE_MISSED:
            return EscalationReason.ACCEPTANCE_DEADLINE_MISSED
        return EscalationReason.ALL_AGENCIES_DECLINED
    with_room = [a for a in untried if open_counts.get(a.code, 0) < a.capacity]
    if not with_room:
        return EscalationReason.NO_AGENCY_WITH_CAPACITY
    return min(with_room, key=lambda a: (Fraction(open_counts.get(a.code, 0), a.capacity), a.code))


def _route(
    state: RoutingState,
    directory: DirectoryPublished,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
    cause: RerouteCause | None,
) -> Decision:
    area = directory.area_for_district(state.district)
    area_code = area.code if area is not None else None
    choice = choose_agency(directory, state.district, state.tried, open_counts, cause=cause)
    if isinstance(choice, EscalationReason):
        return _escalate(state, choice, area_code, directory.version, now)
    assert area_code is not None, "an agency is only chosen for a district in an area"
    due_by = now + choice.acceptance_deadline
    routed = replace(
        state,
        status=Status.ROUTING,
        area=area_code,
        agency=choice.code,
        tried=(*state.tried, choice.code),
        due_by=due_by,
        directory_version=directory.version,
    )
    event: RoutingEvent
    if cause is None or state.agency is None:
        event = ReferralRouted(
            referral_id=state.referral_id,
            agency=choice.code,
            area=area_code,
            due_by=due_by,
            routed_at=now,
            directory_version=directory.version,
            isa_version=isa_version,
        )
    else:
        event = ReferralRerouted(
            referral_id=state.referral_id,
            from_agency=state.agency,
            to_agency=choice.code,
            area=area_code,
            cause=cause,
            due_by=due_by,
            rerouted_at=now,
            directory_version=directory.version,
            isa_version=isa_version,
        )
    return Decision(routed, event)


def _escalate(
    state: RoutingState,
    reason: EscalationReason,
    area_code: str | None,
    directory_version: int,
    now: datetime,
) -> Decision:
    escalated = replace(
        state,
        status=Status.ESCALATED,
        area=area_code,
        agency=None,
        due_by=None,
        directory_version=directory_version,
        escalation_reason=reason,
    )
    event = ReferralEscalated(
        referral_id=state.referral_id, reason=reason, area=area_code, escalated_at=now
    )
    return Decision(escalated, event)


def open_referral(
    opened: ReferralOpened,
    correlation_id: uuid.UUID,
    directory: DirectoryPublished | None,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
) -> Decision:
    """Route a new referral, or keep it waiting when no directory was published yet."""
    state = RoutingState(
        referral_id=opened.referral_id,
        correlation_id=correlation_id,
        district=opened.postcode_district,
        opened_at=opened.opened_at,
        status=Status.AWAITING_DIRECTORY,
    )
    if directory is None:
        return Decision(state, None)
    return _route(state, directory, open_counts, now=now, isa_version=isa_version, cause=None)


def route_waiting(
    waiting: Iterable[RoutingState],
    directory: DirectoryPublished,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
) -> list[Decision]:
    """Route referrals that waited for a directory, in order; each one placed counts
    against its agency's capacity for the next."""
    counts = dict(open_counts)
    decisions = []
    for state in waiting:
        decision = _route(state, directory, counts, now=now, isa_version=isa_version, cause=None)
        placed = decision.state.agency
        if placed is not None:
            counts[placed] = counts.get(placed, 0) + 1
        decisions.append(decision)
    return decisions


def _waits_on(state: RoutingState, agency: str) -> bool:
    return state.status is Status.ROUTING and state.agency == agency


def decline(
    state: RoutingState,
    declined: ReferralDeclined,
    directory: DirectoryPublished,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
) -> Decision | None:
    """Offer the referral to the next agency; None if the decline is not from the agency
    it waits on (stale: it was already rerouted, accepted or ended)."""
    if not _waits_on(state, declined.agency):
        return None
    return _route(
        state, directory, open_counts, now=now, isa_version=isa_version, cause=RerouteCause.DECLINED
    )


def breach(
    state: RoutingState,
    breached: SlaBreached,
    directory: DirectoryPublished,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
) -> Decision | None:
    """Reroute after a missed acceptance deadline; None if the breach is stale."""
    if not _waits_on(state, breached.agency):
        return None
    return _route(
        state,
        directory,
        open_counts,
        now=now,
        isa_version=isa_version,
        cause=RerouteCause.ACCEPTANCE_DEADLINE_MISSED,
    )


def accept(state: RoutingState, accepted: ReferralAccepted) -> Decision | None:
    if not _waits_on(state, accepted.agency):
        return None
    return Decision(replace(state, status=Status.ACCEPTED, due_by=None), None)


def end(state: RoutingState, status: Status) -> Decision | None:
    """Cancelled or closed: the referral no longer holds capacity or waits on a deadline."""
    if state.status in (Status.CANCELLED, Status.CLOSED):
        return None
    return Decision(replace(state, status=status, due_by=None), None)
