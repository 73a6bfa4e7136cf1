"""Properties of the shared lifecycle model (``referral_schemas.lifecycle``), checked on random
logs: any mix of submissions, withdrawals, routing decisions, timer firings, the owner's
decisions, staff actions and police holds, in any order the log can hold (out-of-place
events included: work before acceptance, answers for another agency, stale deadlines,
events before the referral was opened or after it ended).

After every event: terminal states stay terminal; a referral whose intelligence was all
withdrawn and whose CancellationRequested was answered is never actionable again; no staff
work lands while held; first contact only ever comes from speaking to the person or a
completed visit and never changes once set; capacity counted from ``holding_agency`` equals
the referrals each agency holds; police are told at most once; and every service's fold
says the same status as the model's. To add a service's fold to that comparison, add one
line to ``SERVICE_FOLDS``.
"""

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referral_schemas import (
    CancellationReason,
    CancellationRequested,
    ContactAttempted,
    ContactResult,
    EngagementLevel,
    EscalationClosed,
    EscalationReason,
    EventData,
    OfferExpired,
    Outcome,
    ReferralCancelled,
    ReferralClosed,
    ReferralDeclined,
    ReferralDirected,
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    VisitCompleted,
    make_envelope,
)
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve, reports_to_police
from referral_schemas.lifecycle_rules import RULES, ReferralStatus

from services.casework import domain as casework_domain
from services.feedback import domain as feedback_domain
from services.feedback.domain import FeedbackState
from services.insights import domain as insights_domain
from services.insights.domain import ReferralFacts
from services.routing import domain as routing_domain
from tests.support.referral_log import T0, ReferralLog

pytestmark = pytest.mark.unit
AGENCIES = ("ag-north", "ag-south", "ag-west")


T = TypeVar("T")


class Draw(Protocol):
    """``DataObject.draw``: one value from a strategy, drawn inside the running example."""

    def __call__(self, strategy: st.SearchStrategy[T], label: Any = None) -> T: ...


@dataclass(frozen=True)
class ServiceFold:
    """How one service folds a referral's events: its blank state, one step (a refused
    event leaves the state as it was) and the lifecycle status its state says."""

    name: str
    start: Callable[[uuid.UUID], Any]
    step: Callable[[Any, EventData], Any]
    status: Callable[[Any], ReferralStatus | None]


def _unless_refused(evolve_one: Callable[[Any, EventData], Any]) -> Callable[[Any, Any], Any]:
    """A service's ``evolve`` (state or Refusal) as a step that keeps the state on refusal."""

    def step(state: Any, data: EventData) -> Any:
        result = evolve_one(state, data)
        return state if isinstance(result, Refusal) else result

    return step


def _status(life: Lifecycle | None) -> ReferralStatus | None:
    return None if life is None else life.status


def _status_of(state: Any) -> ReferralStatus | None:
    return _status(state.lifecycle)


def _casework_step(state: Any, data: EventData) -> Any:
    """casework folds envelopes (it keeps the referral's correlation id and times)."""
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source="referral-hub/test",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        subject=data.kafka_key(),
        correlation_id=uuid.UUID(int=1),
        causation_id=None,
        actor="system:test",
    )
    result = casework_domain.evolve(state, envelope)
    return state if isinstance(result, Refusal) else result


def _routing_step(state: Any, data: EventData) -> Any:
    return _unless_refused(
        lambda s, d: routing_domain.evolve(s, d, correlation_id=uuid.UUID(int=1))
    )(state, data)


def _routing_status(state: Any) -> ReferralStatus | None:
    return None if state is None else _status(state.lifecycle)


SERVICE_FOLDS = [
    ServiceFold("lifecycle", lambda rid: None, _unless_refused(evolve), _status),
    ServiceFold("feedback", FeedbackState, _unless_refused(feedback_domain.evolve), _status_of),
    ServiceFold("insights", ReferralFacts, _unless_refused(insights_domain.evolve), _status_of),
    ServiceFold("casework", lambda rid: None, _casework_step, _routing_status),
    ServiceFold("routing", lambda rid: None, _routing_step, _routing_status),
]
"""Every fold of referral events whose status must equal the model's (one line each)."""

WORK_WHILE_HELD_REFUSED = (
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralAssigned",
    "ContactAttempted",
    "VisitAttempted",
    "VisitCompleted",
    "EngagementRecorded",
    "ReferralCompleted",
    "ReferralClosed",
)
"""Staff actions a police hold ("do not approach") stops."""

RELEASES = (
    ReferralDeclined,
    OfferExpired,
    ReferralCancelled,
    ReferralClosed,
    EscalationClosed,
    ReferralDirected,
    ReferralEscalated,
)
"""Events after which no agency holds the referral any more (an independent reckoning of
capacity, to compare with ``Lifecycle.holding_agency``)."""


@dataclass
class Referral:
    """One referral's log as it grows, the model's state and the services' states."""

    log: ReferralLog = field(default_factory=ReferralLog)
    refs: list[str] = field(default_factory=list)
    life: Lifecycle | None = None
    states: list[Any] = field(default_factory=list)
    holder: str | None = None
    feedback: FeedbackState = field(init=False)
    """What a simulated feedback (feedback's own ``decide``) has kept; ``reports`` counts
    the OutcomeReported it emitted."""
    reports: int = 0
    cancellation_requested: bool = False
    cancellation_answered: bool = False

    def __post_init__(self) -> None:
        self.states = [fold.start(self.log.referral_id) for fold in SERVICE_FOLDS]
        self.feedback = FeedbackState(self.log.referral_id)


def _agency(draw: Draw, life: Lifecycle | None) -> str:
    """Mostly the agency the referral is with (or was directed to), so events often land
    where they have an effect; sometimes any agency."""
    known = [] if life is None else [a for a in (life.agency, life.directed_to) if a]
    if known and draw(st.integers(0, 3)) > 0:
        return draw(st.sampled_from(known))
    return draw(st.sampled_from(AGENCIES))


def _due_by(draw: Draw, r: Referral) -> datetime:
    running = [] if r.life is None or r.life.due_by is None else [r.life.due_by]
    return draw(st.sampled_from([*running, r.log.at(draw(HOURS))]))


def _next_event(draw: Draw, r: Referral) -> EventData:
    """Any referral event, with values drawn so it is sometimes valid and sometimes not."""
    log, hours = r.log, float(draw(HOURS))
    agency = _agency(draw, r.life)
    kind = draw(_kinds(draw, r.life))
    match kind:
        case "opened":
            r.refs.append(log.ref)
            return log.opened(hours=hours)
        case "linked":
            ref = f"CUM/P/{len(r.refs) + 2:04d}"
            r.refs.append(ref)
            return log.linked(ref, hours=hours)
        case "amended":
            ref = draw(st.sampled_from([*r.refs, "CUM/P/9999"]))
            return log.amended(ref, draw(st.sampled_from(["LA14", "CA1"])), hours=hours)
        case "cancellation_requested" | "cancelled":
            reason = draw(st.sampled_from(CancellationReason))
            ask = log.cancellation_requested if kind != "cancelled" else log.cancelled
            return ask(reason, hours)
        case "sla_breached":
            return log.sla_breached(agency, _due_by(draw, r), hours=hours)
        case "offer_expired":
            return log.offer_expired(agency, _due_by(draw, r), hours=hours)
        case "rerouted":
            return log.rerouted(_agency(draw, r.life), agency, hours=hours)
        case "escalated":
            reason = draw(st.sampled_from(EscalationReason))
            return log.escalated(reason, draw(st.sampled_from([None, "barrow", "kendal"])), hours)
        case "escalation_closed":
            return log.escalation_closed(draw(st.sampled_from(Outcome)), hours=hours)
        case "completed":
            return log.completed(draw(st.sampled_from(Outcome)), agency, hours=hours)
        case "closed":
            return log.closed(draw(st.sampled_from(Outcome)), agency, hours=hours)
        case "contact":
            return log.contact(draw(st.sampled_from(ContactResult)), agency, hours)
        case "engagement":
            return log.engagement(draw(st.sampled_from(EngagementLevel)), agency, hours)
        case "held" | "resumed":
            hold = log.held if kind == "held" else log.resumed
            return hold(draw(st.sampled_from([agency, None])), hours=hours)
    return _AGENCY_EVENTS[kind](log, agency, hours)


_AGENCY_EVENTS: dict[str, Callable[[ReferralLog, str, float], EventData]] = {
    "routed": lambda log, agency, hours: log.routed(agency, hours=hours),
    "accepted": lambda log, agency, hours: log.accepted(agency, hours=hours),
    "declined": lambda log, agency, hours: log.declined(agency, hours=hours),
    "directed": lambda log, agency, hours: log.directed(agency, hours=hours),
    "assigned": lambda log, agency, hours: log.assigned(agency, hours=hours),
    "visit_attempted": lambda log, agency, hours: log.visit_attempted(agency, hours=hours),
    "visited": lambda log, agency, hours: log.visited(agency, hours=hours),
}
"""Events that name an agency and a time, and nothing else drawn."""

_KINDS = (
    # submissions and withdrawals (intake)
    "opened", "linked", "amended", "cancellation_requested",
    # routing decisions and timer firings (routing)
    "routed", "rerouted", "escalated", "sla_breached",
    # the owner's decisions (casework)
    "offer_expired", "accepted", "declined", "cancelled", "directed", "escalation_closed",
    # staff actions (casework)
    "assigned", "contact", "visit_attempted", "visited", "engagement", "completed", "closed",
    # police holds (casework)
    "held", "resumed",
)  # fmt: skip
KINDS = st.sampled_from(_KINDS)
_TYPES = dict(zip(_KINDS, (
    "ReferralOpened", "ReferralLinked", "ReferralAmended", "CancellationRequested",
    "ReferralRouted", "ReferralRerouted", "ReferralEscalated", "SlaBreached",
    "OfferExpired", "ReferralAccepted", "ReferralDeclined", "ReferralCancelled",
    "ReferralDirected", "EscalationClosed",
    "ReferralAssigned", "ContactAttempted", "VisitAttempted", "VisitCompleted",
    "EngagementRecorded", "ReferralCompleted", "ReferralClosed",
    "ReferralHeld", "ReferralResumed",
), strict=True))  # fmt: skip
_VALID_ALMOST_ANYWHERE = frozenset(
    {"cancelled", "escalation_closed", "linked", "amended", "cancellation_requested"}
)
"""Drawn only among all kinds (one draw in four), so that logs live long enough to be
routed, worked, held and closed."""


def _kinds(draw: Draw, life: Lifecycle | None) -> st.SearchStrategy[str]:
    """Three times in four a kind the referral's status admits (a log that moves on),
    else any kind at all (out of place, late, for another agency...)."""
    if life is None or draw(st.integers(0, 3)) == 0:
        return KINDS
    admitted = [
        kind
        for kind in _KINDS
        if kind not in _VALID_ALMOST_ANYWHERE
        and kind != "opened"
        and life.status in RULES[_TYPES[kind]].valid_in
    ]
    return st.sampled_from(admitted) if admitted else KINDS


HOURS = st.integers(0, 400)


def _staff_actions(r: Referral) -> list[EventData]:
    """Everything anyone could do to the referral, aimed at the agency it is with."""
    log, agency = r.log, (r.life and r.life.agency) or AGENCIES[0]
    return [
        log.routed(agency),
        log.accepted(agency),
        log.assigned(agency),
        log.contact(ContactResult.SPOKE_TO_PERSON, agency),
        log.visit_attempted(agency),
        log.visited(agency),
        log.engagement(EngagementLevel.ENGAGED, agency),
        log.completed(Outcome.SIGNPOSTED, agency),
        log.closed(Outcome.SIGNPOSTED, agency),
        log.directed(agency),
    ]


def _holder(holder: str | None, data: EventData) -> str | None:
    if isinstance(data, ReferralRouted):
        return data.agency
    if isinstance(data, ReferralRerouted):
        return data.to_agency
    return None if isinstance(data, RELEASES) else holder


def _first_contact_source(data: EventData) -> datetime | None:
    if isinstance(data, ContactAttempted) and data.result is ContactResult.SPOKE_TO_PERSON:
        return data.attempted_at
    return data.visited_at if isinstance(data, VisitCompleted) else None


def _apply(r: Referral, data: EventData) -> None:
    """Fold one event everywhere and check every property on the way."""
    before = r.life
    result = evolve(before, data)
    after = before if isinstance(result, Refusal) else result

    # Terminal states stay terminal: nothing changes an ended referral.
    if before is not None and before.ended:
        assert isinstance(result, Refusal), (data.EVENT_TYPE, before.status)
    # No staff work lands while the police hold the referral.
    if before is not None and before.held and data.EVENT_TYPE in WORK_WHILE_HELD_REFUSED:
        assert isinstance(result, Refusal), data.EVENT_TYPE
    # First contact comes only from speaking to the person or a visit, and never changes.
    old = None if before is None else before.first_contact_at
    new = None if after is None else after.first_contact_at
    if new != old:
        assert old is None, (old, new)
        assert new == _first_contact_source(data), data.EVENT_TYPE
    # Police are told at most once: the model flips to "report" once and never back.
    was = before is not None and reports_to_police(before)
    now = after is not None and reports_to_police(after)
    assert now or not was

    if not isinstance(result, Refusal):
        r.holder = _holder(r.holder, data)
    # intake asks only about a referral it opened; casework answers what it was asked.
    if isinstance(data, CancellationRequested) and before is not None:
        r.cancellation_requested = True
    if isinstance(data, ReferralCancelled) and r.cancellation_requested:
        r.cancellation_answered = True
    r.life = after

    # Every service's fold says what the model says; a refused event changes no state.
    previous = list(r.states)
    r.states = [fold.step(state, data) for fold, state in zip(SERVICE_FOLDS, r.states, strict=True)]
    statuses = {fold.name: fold.status(s) for fold, s in zip(SERVICE_FOLDS, r.states, strict=True)}
    assert set(statuses.values()) == {_status(after)}, statuses
    if isinstance(result, Refusal):
        assert r.states == previous, data.EVENT_TYPE

    # A simulated feedback (feedback's own decide) reports at most once, and once when due.
    decision = feedback_domain.decide(r.feedback, data, now=T0)
    r.feedback, r.reports = decision.state, r.reports + (decision.report is not None)
    assert r.reports == (1 if after is not None and reports_to_police(after) else 0)

    # Withdrawn and answered (intake's CancellationRequested, then casework's
    # ReferralCancelled anywhere later in the log): nobody can act on it any more.
    if r.cancellation_answered:
        assert after is not None
        assert after.ended, after.status
        assert all(isinstance(evolve(after, act), Refusal) for act in _staff_actions(r))


PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,  # the machine is shared: no timing in tests
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(st.data())
def test_every_property_holds_after_every_event_of_a_random_log(data: st.DataObject) -> None:
    r = Referral()
    if data.draw(st.sampled_from((True, True, True, False)), label="opened first"):
        _apply(r, r.log.opened())
    for _ in range(data.draw(st.integers(0, 40), label="events")):
        _apply(r, _next_event(data.draw, r))


@PROPERTY_SETTINGS
@given(st.data())
def test_capacity_counted_from_holding_agency_equals_what_each_agency_holds(
    data: st.DataObject,
) -> None:
    population = [Referral() for _ in range(data.draw(st.integers(1, 6), label="referrals"))]
    for r in population:
        _apply(r, r.log.opened())
    for _ in range(data.draw(st.integers(0, 60), label="events")):
        r = data.draw(st.sampled_from(population))
        _apply(r, _next_event(data.draw, r))
        counted = Counter(x.life.holding_agency for x in population if x.life is not None)
        held = Counter(x.holder for x in population)
        assert {a: counted[a] for a in AGENCIES} == {a: held[a] for a in AGENCIES}
