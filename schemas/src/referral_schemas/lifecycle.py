"""One truth for a referral's lifecycle: the pure fold every service applies to referral
events, in the order the log holds them.

``evolve(state, event)`` returns the next :class:`Lifecycle`, or a :class:`Refusal` saying why
the event has no effect where it landed (terminal states stay terminal; an answer for an
agency the referral is not offered to, a stale deadline, ...). A refused event changes
nothing anywhere, and timelines show it as "no effect". Services keep their own extra data
beside this state, but they take status, agency, deadline, hold, first contact and outcome
from here, so every service that has caught up says the same thing about a referral.

Competing decisions (acceptance, decline, deadline expiry, cancellation, the coordinator's
resolution of an escalation) have one owner, casework, which decides them against this state
in one transaction; routing and intake only propose (SlaBreached, CancellationRequested).
The transition table is ``lifecycle_rules.RULES``.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from referral_schemas.envelope import EventData
from referral_schemas.lifecycle_rules import (
    HOLDS_AGENCY,
    RULES,
    TERMINAL,
    ReferralStatus,
)
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    ContactResult,
    Outcome,
    ReferralAccepted,
    ReferralAssigned,
    ReferralClosed,
    ReferralCompleted,
    ReferralEscalated,
    ReferralHeld,
    ReferralRerouted,
    ReferralResumed,
    ReferralRouted,
    SlaBreached,
    VisitCompleted,
)
from referral_schemas.referral_v1 import (
    CancellationReason,
    ReferralAmended,
    ReferralCancelled,
    ReferralLinked,
    ReferralOpened,
)
from referral_schemas.resolution_v1 import EscalationClosed, ReferralDirected

S = ReferralStatus


@dataclass(frozen=True)
class Refusal:
    """Why an event or a command has no effect. ``code`` is stable and machine-readable;
    ``message`` is for people and holds no personal data."""

    code: str
    message: str


@dataclass(frozen=True)
class Lifecycle:
    """A referral's lifecycle state: the same in every service once it has caught up."""

    referral_id: uuid.UUID
    force: str
    opened_at: datetime
    district: str
    status: ReferralStatus = S.OPENED
    intelligence: tuple[tuple[str, str], ...] = ()
    """(force, reference) of the intelligence still behind the referral."""
    previous_referral_id: uuid.UUID | None = None
    agency: str | None = None
    """The agency it is offered to, or that accepted it (None while no agency holds it)."""
    area: str | None = None
    tried: tuple[str, ...] = ()
    """Every agency it was offered to, in order."""
    due_by: datetime | None = None
    """The acceptance deadline while it runs (None while held or not offered)."""
    paused_remaining: timedelta | None = None
    """Time left on the acceptance deadline while a hold pauses it."""
    held: bool = False
    hold_reason: str | None = None
    escalation_reason: str | None = None
    escalated_at: datetime | None = None
    directed_to: str | None = None
    """The agency a police coordinator directed it to; routing offers it there next."""
    assigned_to: str | None = None
    first_contact_at: datetime | None = None
    outcome: Outcome | None = None
    cancel_reason: CancellationReason | None = None
    ended_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    @property
    def holding_agency(self) -> str | None:
        """The agency whose capacity this referral uses, if any."""
        return self.agency if self.status in HOLDS_AGENCY else None


def first_contact_time(data: EventData) -> datetime | None:
    """The one definition of contact: the agency spoke to the person (by any method) or
    visited them. Unanswered attempts, messages left and failed visits are not contact."""
    if isinstance(data, ContactAttempted) and data.result is ContactResult.SPOKE_TO_PERSON:
        return data.attempted_at
    if isinstance(data, VisitCompleted):
        return data.visited_at
    return None


CANCELLATION_OUTCOMES: dict[CancellationReason, Outcome] = {
    CancellationReason.MOVED_AWAY: Outcome.MOVED_OUT_OF_AREA,
    CancellationReason.INTELLIGENCE_WITHDRAWN: Outcome.INTELLIGENCE_WITHDRAWN,
    CancellationReason.DUPLICATE: Outcome.INTELLIGENCE_WITHDRAWN,
    CancellationReason.NO_LONGER_REQUIRED: Outcome.INTELLIGENCE_WITHDRAWN,
}
"""What police are told when a referral they raised is cancelled."""


def police_outcome(state: Lifecycle) -> Outcome | None:
    """The outcome police get for an ended referral; None while it is open."""
    if state.status is S.CLOSED:
        return state.outcome
    if state.status is S.CANCELLED and state.cancel_reason is not None:
        return CANCELLATION_OUTCOMES[state.cancel_reason]
    return None


def reports_to_police(state: Lifecycle) -> bool:
    """Police get exactly one OutcomeReported for every referral that reached an agency or
    the coordinator (routed or escalated) and then ended, whichever way it ended."""
    return state.ended and (bool(state.tried) or state.escalated_at is not None)


def opened(envelope_data: ReferralOpened) -> Lifecycle:
    data = envelope_data
    return Lifecycle(
        referral_id=data.referral_id,
        force=data.force,
        opened_at=data.opened_at,
        district=data.postcode_district,
        intelligence=((data.force, data.intelligence_ref),),
        previous_referral_id=data.previous_referral_id,
    )


def _check(state: Lifecycle, data: EventData) -> Refusal | None:
    rule = RULES[data.EVENT_TYPE]
    if state.ended:
        return Refusal(f"referral_{state.status}", f"the referral is already {state.status}")
    if state.status not in rule.valid_in:
        return Refusal("wrong_status", f"{data.EVENT_TYPE} has no effect while {state.status}")
    agency = getattr(data, "agency", None)
    if rule.same_agency and agency != state.agency:
        return Refusal("wrong_agency", "the referral is not with that agency")
    if rule.not_while_held and state.held:
        return Refusal("referral_held", "the referral is on a police hold")
    return None


def _offer(state: Lifecycle, agency: str, area: str, due_by: datetime, at: datetime) -> Lifecycle:
    paused = max(due_by - at, timedelta(0)) if state.held else None
    return replace(
        state,
        status=S.AWAITING_ACCEPTANCE,
        agency=agency,
        area=area,
        tried=(*state.tried, agency),
        due_by=None if state.held else due_by,
        paused_remaining=paused,
        directed_to=None,
        escalation_reason=None,
        assigned_to=None,
    )


def _hold(state: Lifecycle, data: ReferralHeld) -> Lifecycle | Refusal:
    if state.held:
        return Refusal("already_held", "the referral is already on hold")
    paused = None
    if state.due_by is not None:
        paused = max(state.due_by - data.held_at, timedelta(0))
    return replace(
        state, held=True, hold_reason=data.reason.value, due_by=None, paused_remaining=paused
    )


def _resume(state: Lifecycle, data: ReferralResumed) -> Lifecycle | Refusal:
    if not state.held:
        return Refusal("not_held", "the referral is not on hold")
    due_by = None
    if state.status is S.AWAITING_ACCEPTANCE and state.paused_remaining is not None:
        due_by = data.resumed_at + state.paused_remaining
    return replace(state, held=False, hold_reason=None, due_by=due_by, paused_remaining=None)


def _unoffered(state: Lifecycle, status: ReferralStatus) -> Lifecycle:
    return replace(state, status=status, agency=None, due_by=None, paused_remaining=None)


def _apply(state: Lifecycle, data: EventData) -> Lifecycle | Refusal:
    rule = RULES[data.EVENT_TYPE]
    match data:
        case ReferralLinked():
            refs = (*state.intelligence, (data.force, data.intelligence_ref))
            return replace(state, intelligence=tuple(dict.fromkeys(refs)))
        case ReferralAmended():
            gone = (data.withdrawn_force, data.withdrawn_intelligence_ref)
            remaining = tuple(r for r in state.intelligence if r != gone)
            return replace(state, intelligence=remaining, district=data.postcode_district)
        case ReferralRouted():
            if state.directed_to is not None and data.agency != state.directed_to:
                return Refusal("not_directed_agency", "the coordinator directed it elsewhere")
            return _offer(state, data.agency, data.area, data.due_by, data.routed_at)
        case ReferralRerouted():
            if not state.tried or state.tried[-1] != data.from_agency:
                return Refusal("wrong_agency", "the referral was not with that agency")
            return _offer(state, data.to_agency, data.area, data.due_by, data.rerouted_at)
        case ReferralEscalated():
            escalated = _unoffered(state, S.ESCALATED)
            return replace(
                escalated,
                area=data.area or state.area,
                escalation_reason=data.reason.value,
                escalated_at=state.escalated_at or data.escalated_at,
            )
        case SlaBreached():
            if data.due_by != state.due_by:
                return Refusal("stale_deadline", "that deadline is no longer the one running")
            return state
        case ReferralHeld():
            return _hold(state, data)
        case ReferralResumed():
            return _resume(state, data)
        case ReferralAccepted():
            return replace(state, status=S.ACCEPTED, due_by=None, paused_remaining=None)
        case ReferralAssigned():
            return replace(state, assigned_to=data.worker)
        case ReferralCompleted():
            return replace(state, status=S.COMPLETED, outcome=data.outcome)
        case ReferralClosed():
            return replace(state, status=S.CLOSED, outcome=data.outcome, ended_at=data.closed_at)
        case EscalationClosed():
            closed = _unoffered(state, S.CLOSED)
            ended = replace(closed, outcome=data.outcome, ended_at=data.closed_at)
            return replace(ended, held=False, hold_reason=None)
        case ReferralCancelled():
            cancelled = replace(state, status=S.CANCELLED, due_by=None, paused_remaining=None)
            cancelled = replace(cancelled, cancel_reason=data.reason, ended_at=data.cancelled_at)
            return replace(cancelled, held=False, hold_reason=None)
        case ReferralDirected():
            return replace(_unoffered(state, S.OPENED), directed_to=data.agency)
    contact = first_contact_time(data)
    if contact is not None and state.first_contact_at is None:
        state = replace(state, first_contact_at=contact)
    if rule.leads_to is not None:
        unoffered = rule.leads_to is S.REROUTING
        state = _unoffered(state, rule.leads_to) if unoffered else state
        state = replace(state, status=rule.leads_to)
    return state


def evolve(state: Lifecycle | None, data: EventData) -> Lifecycle | Refusal:
    """The lifecycle after one referral event, or why the event has no effect here."""
    if isinstance(data, ReferralOpened):
        if state is not None:
            return Refusal("already_opened", "the referral was opened before")
        return opened(data)
    if data.EVENT_TYPE not in RULES:
        return Refusal("not_a_lifecycle_event", f"{data.EVENT_TYPE} is not a referral event")
    if state is None:
        return Refusal("unknown_referral", "no ReferralOpened was seen for this referral")
    return _check(state, data) or _apply(state, data)


def evolve_all(state: Lifecycle | None, events: Iterable[EventData]) -> Lifecycle | None:
    """Fold events in order, skipping those with no effect (e.g. an owner's decisions not
    yet seen on the log, laid over the state folded from it)."""
    for data in events:
        result = evolve(state, data)
        if not isinstance(result, Refusal):
            state = result
    return state
