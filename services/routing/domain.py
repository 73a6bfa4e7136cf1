"""Routing's state of one referral and its decisions. Pure: the directory in force, the open
counts, the time and the ISA version go in; the events to publish come out.

The state is the referral's lifecycle as the log says it (``lifecycle``: every referral event
routing needs, its own included, folded with ``referral_schemas.lifecycle.evolve`` in log
order) plus routing's own decisions not yet seen on the log (``pending``). Routing decides and
counts capacity against ``effective``, the log's state with the pending decisions laid over
it, so it never decides twice and an agency's place is taken at once. A pending decision
leaves ``pending`` when it lands; if the log refuses it there (a ReferralRouted behind a
ReferralCancelled), it has no effect, and ``effective`` already left it out from the moment
the event that voided it landed.

``decide`` looks at a referral as ``evolve`` left it: an opened referral is offered to an
agency (the one a police coordinator directed it to, if any), one whose agency declined or
let the deadline pass (casework's ReferralDeclined / OfferExpired) is offered to the next, and
when none can take it, it is escalated. Escalations for lack of capacity or coverage are
retried (``settle``) when capacity frees up or a new directory version arrives.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from referral_schemas import EventData, ReferralCancelled, ReferralOpened
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve_all
from referral_schemas.lifecycle import evolve as evolve_lifecycle
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    ReferralAccepted,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralEscalated,
    ReferralHeld,
    ReferralRerouted,
    ReferralResumed,
    ReferralRouted,
    RerouteCause,
)
from referral_schemas.referral_v1 import ReferralAmended
from referral_schemas.resolution_v1 import EscalationClosed, OfferExpired, ReferralDirected

from services.routing.choice import Offer, RoutingEvent, has_room

S = ReferralStatus
__all__ = ["RoutingEvent"]  # the events routing decides, defined with the offers

FOLDED = (
    ReferralOpened,
    ReferralAmended,
    ReferralRouted,
    ReferralRerouted,
    ReferralEscalated,
    OfferExpired,
    ReferralDeclined,
    ReferralAccepted,
    ReferralCompleted,
    ReferralClosed,
    ReferralHeld,
    ReferralResumed,
    ReferralCancelled,
    ReferralDirected,
    EscalationClosed,
)
"""The referral events routing folds: every one that changes a referral's status, agency,
deadline, hold or postcode district (ReferralCompleted too: ReferralClosed is valid only
after it). The rest (links, proposals, the agency's casework, routing's own SlaBreached)
change nothing routing decides on."""

RETRIED = frozenset(
    {EscalationReason.NO_AGENCY_WITH_CAPACITY, EscalationReason.NO_AGENCY_COVERS_AREA}
)
"""Escalations routing retries itself; the others are for the police coordinator."""

_REROUTE_CAUSES: dict[type[EventData], RerouteCause] = {
    OfferExpired: RerouteCause.ACCEPTANCE_DEADLINE_MISSED,
    ReferralDeclined: RerouteCause.DECLINED,
}


@dataclass(frozen=True)
class Pending:
    """A decision routing published that it has not yet seen on the log."""

    event_id: uuid.UUID
    data: RoutingEvent


@dataclass(frozen=True)
class RoutingState:
    """What routing keeps about one referral."""

    correlation_id: uuid.UUID
    """The referral's chain; events routing publishes later (timers, retries) carry it."""
    lifecycle: Lifecycle
    """The log's state: the referral events folded so far, in log order."""
    pending: tuple[Pending, ...] = ()
    reroute_cause: RerouteCause | None = None
    """Why the referral last left an agency (declined or deadline missed)."""

    @property
    def referral_id(self) -> uuid.UUID:
        return self.lifecycle.referral_id

    @cached_property
    def effective(self) -> Lifecycle:
        """The log's state with routing's pending decisions laid over it."""
        folded = evolve_all(self.lifecycle, (p.data for p in self.pending))
        assert folded is not None, "folding from a state never loses it"
        return folded

    @property
    def awaits_retry(self) -> bool:
        """Escalated for lack of capacity or coverage: routing tries again later."""
        current = self.effective
        return current.status is S.ESCALATED and current.escalation_reason in RETRIED


@dataclass(frozen=True)
class Decision:
    """An event routing publishes about a referral, decided against ``state``."""

    state: RoutingState
    event: RoutingEvent


def landed(state: RoutingState, event_id: uuid.UUID) -> RoutingState:
    """The state once one of routing's own events reached the log: no longer pending,
    whether or not the log gives it an effect there."""
    return replace(state, pending=tuple(p for p in state.pending if p.event_id != event_id))


def evolve(
    state: RoutingState | None, data: EventData, *, correlation_id: uuid.UUID
) -> RoutingState | Refusal:
    """The state after one event of the log, or why it has no effect where it landed.
    ``correlation_id`` is kept for a referral seen for the first time."""
    folded = evolve_lifecycle(state.lifecycle if state else None, data)
    if isinstance(folded, Refusal):
        return folded
    if state is None:
        return RoutingState(correlation_id, folded)
    cause = _REROUTE_CAUSES.get(type(data), state.reroute_cause)
    return replace(state, lifecycle=folded, reroute_cause=cause)


def decided(state: RoutingState, event_id: uuid.UUID, event: RoutingEvent) -> RoutingState:
    return replace(state, pending=(*state.pending, Pending(event_id, event)))


def decide(
    state: RoutingState,
    directory: DirectoryPublished | None,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
    retry_escalation: bool = False,
) -> Decision | None:
    """What routing does with the referral as it now stands (after ``evolve`` folded the
    event that arrived); None when it has nothing to do or no directory was published yet.

    ``retry_escalation``: also try again a referral escalated for lack of capacity or
    coverage (when capacity was freed or a new directory version arrived).
    """
    current = state.effective
    if directory is None or current.ended:
        return None
    cause = state.reroute_cause or RerouteCause.DECLINED
    offer = Offer(current, directory, open_counts, now, isa_version, cause)
    event: RoutingEvent | None = None
    if current.directed_to is not None and current.status in (S.OPENED, S.ESCALATED):
        event = offer.directed(current.directed_to)
    elif current.status in (S.OPENED, S.REROUTING) or (retry_escalation and state.awaits_retry):
        event = offer.best()
    return Decision(state, event) if event is not None else None


def settle(
    states: Iterable[RoutingState],
    directory: DirectoryPublished,
    open_counts: Mapping[str, int],
    *,
    now: datetime,
    isa_version: str,
    freed: frozenset[str] | None = None,
) -> list[Decision]:
    """Decide for referrals waiting on routing (opened before any directory, or escalated
    for lack of capacity or coverage), in the order given; each one placed counts against
    its agency's capacity for the next. ``freed``: only places in these agencies were
    freed, so stop once none of them has room left."""
    counts = dict(open_counts)
    decisions = []
    for state in states:
        if freed is not None and not any(has_room(directory, a, counts) for a in freed):
            break
        decision = decide(
            state, directory, counts, now=now, isa_version=isa_version, retry_escalation=True
        )
        if decision is None:
            continue
        placed = offered_to(decision.event)
        if placed is not None:
            counts[placed] = counts.get(placed, 0) + 1
        decisions.append(decision)
    return decisions


def offered_to(event: RoutingEvent) -> str | None:
    if isinstance(event, ReferralRouted):
        return event.agency
    if isinstance(event, ReferralRerouted):
        return event.to_agency
    return None


def recount(counts: Mapping[str, int], was: str | None, now: str | None) -> dict[str, int]:
    """Open counts once a referral holding ``was`` holds ``now`` instead."""
    moved = dict(counts)
    if was != now:
        if was is not None:
            moved[was] = moved.get(was, 0) - 1
        if now is not None:
            moved[now] = moved.get(now, 0) + 1
    return moved


def released(before: Lifecycle | None, after: Lifecycle) -> str | None:
    """The agency whose place the referral gave up between the two states, if any."""
    was = before.holding_agency if before is not None else None
    return was if was is not None and was != after.holding_agency else None


def deadline(state: Lifecycle) -> tuple[str, datetime] | None:
    """The acceptance deadline running, with its agency: none while held or not offered."""
    if state.status is S.AWAITING_ACCEPTANCE and state.agency and state.due_by is not None:
        return state.agency, state.due_by
    return None
