"""What staff may do to a referral, and the events an accepted action becomes. Pure.

``decide(state, command, actor, now)`` returns the event payloads to record or a
``Refusal`` saying why not. Checks run in a fixed order: can the actor see the referral at
all (otherwise it is "not found", so existence never leaks), may their role do this, is the
referral still open, is it in a state that allows the action, then the action's own rules.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

from referral_schemas import EventData
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    EngagementRecorded,
    HoldReason,
    Outcome,
    ReferralAccepted,
    ReferralAssigned,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralHeld,
    ReferralResumed,
    VisitAttempted,
    VisitCompleted,
    VisitResult,
)

from services.casework.domain import FINISHED, CaseState, Status


class Role(enum.StrEnum):
    SUPPORT_WORKER = "support_worker"
    AGENCY_LEAD = "agency_lead"
    POLICE_COORDINATOR = "police_coordinator"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Actor:
    """A verified caller with a role casework knows."""

    user: str
    role: Role
    agency: str | None
    force: str | None


class RefusalKind(enum.StrEnum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    kind: RefusalKind = RefusalKind.CONFLICT


# Commands: one class per staff action.
@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Decline:
    reason: DeclineReason | None


@dataclass(frozen=True)
class Assign:
    worker: str


@dataclass(frozen=True)
class RecordContact:
    method: ContactMethod
    result: ContactResult


@dataclass(frozen=True)
class RecordVisitAttempt:
    result: VisitResult


@dataclass(frozen=True)
class RecordVisit:
    pass


@dataclass(frozen=True)
class RecordEngagement:
    level: EngagementLevel


@dataclass(frozen=True)
class PlaceHold:
    reason: HoldReason


@dataclass(frozen=True)
class LiftHold:
    pass


@dataclass(frozen=True)
class Complete:
    outcome: Outcome


@dataclass(frozen=True)
class Close:
    pass


Command = (
    Accept
    | Decline
    | Assign
    | RecordContact
    | RecordVisitAttempt
    | RecordVisit
    | RecordEngagement
    | PlaceHold
    | LiftHold
    | Complete
    | Close
)

STAFF = frozenset({Role.SUPPORT_WORKER, Role.AGENCY_LEAD})
POLICE = frozenset({Role.POLICE_COORDINATOR})
_OPEN = frozenset(Status) - FINISHED - {Status.COMPLETED}


@dataclass(frozen=True)
class Rule:
    """Who may take an action, in which statuses, and what to say otherwise."""

    roles: frozenset[Role]
    statuses: frozenset[Status]
    code: str
    message: str
    not_while_held: bool = False


def _awaiting(verb: str) -> Rule:
    return Rule(
        STAFF,
        frozenset({Status.AWAITING_ACCEPTANCE}),
        "not_awaiting_acceptance",
        f"only a referral awaiting acceptance can be {verb}",
    )


def _accepted(before: str, *, not_while_held: bool = False) -> Rule:
    return Rule(
        STAFF,
        frozenset({Status.ACCEPTED}),
        "not_accepted",
        f"the referral must be accepted before {before}",
        not_while_held,
    )


# A police hold means "do not approach": no contact, no visit, no completion meanwhile.
RULES: dict[type[Command], Rule] = {
    Accept: _awaiting("accepted"),
    Decline: _awaiting("declined"),
    Assign: _accepted("assigning"),
    RecordContact: _accepted("contact is recorded", not_while_held=True),
    RecordVisitAttempt: _accepted("visits are recorded", not_while_held=True),
    RecordVisit: _accepted("visits are recorded", not_while_held=True),
    RecordEngagement: _accepted("engagement is recorded"),
    PlaceHold: Rule(POLICE, _OPEN, "not_open", "only an open referral can be held"),
    LiftHold: Rule(POLICE, _OPEN, "not_open", "only an open referral has a hold to lift"),
    Complete: _accepted("completing", not_while_held=True),
    Close: Rule(
        STAFF,
        frozenset({Status.COMPLETED}),
        "not_completed",
        "only a completed referral can be closed",
    ),
}


def can_see(state: CaseState, actor: Actor) -> bool:
    """Staff see their agency's referrals; police coordinators those their force raised."""
    if actor.role in STAFF:
        return actor.agency is not None and state.agency == actor.agency
    if actor.role in POLICE:
        return actor.force is not None and state.force == actor.force
    return False


def _not_found() -> Refusal:
    return Refusal("not_found", "no such referral", RefusalKind.NOT_FOUND)


def check(state: CaseState, command: Command, actor: Actor) -> Refusal | None:
    """The general checks shared by every action (see the module docstring)."""
    rule = RULES[type(command)]
    if not can_see(state, actor):
        return _not_found()
    if actor.role not in rule.roles:
        roles = ", ".join(sorted(rule.roles))
        return Refusal("role_not_allowed", f"this action needs role {roles}", RefusalKind.FORBIDDEN)
    if state.status in FINISHED:
        return Refusal(f"referral_{state.status}", f"the referral is {state.status}")
    if state.status not in rule.statuses:
        return Refusal(rule.code, f"{rule.message} (it is {state.status})")
    if rule.not_while_held and state.held:
        return Refusal("referral_held", "the referral is on a police hold; do not approach")
    return None


def _specific(state: CaseState, command: Command, actor: Actor) -> Refusal | None:
    """Rules of one action beyond its status."""
    if isinstance(command, Decline) and command.reason is None:
        return Refusal("reason_required", "a decline needs a reason code", RefusalKind.INVALID)
    if (
        isinstance(command, Assign)
        and actor.role is Role.SUPPORT_WORKER
        and command.worker != actor.user
    ):
        return Refusal(
            "assign_others_not_allowed",
            "a support worker can assign only themselves; an agency lead assigns others",
            RefusalKind.FORBIDDEN,
        )
    if isinstance(command, PlaceHold) and state.held:
        return Refusal("already_held", "the referral is already on hold")
    if isinstance(command, LiftHold) and not state.held:
        return Refusal("not_held", "the referral is not on hold")
    return None


def decide(
    state: CaseState, command: Command, actor: Actor, now: datetime
) -> list[EventData] | Refusal:
    refusal = check(state, command, actor) or _specific(state, command, actor)
    if refusal is not None:
        return refusal
    return [_event(state, command, actor.user, now)]


def _event(state: CaseState, command: Command, by: str, now: datetime) -> EventData:
    rid = state.referral_id
    if isinstance(command, PlaceHold):
        return ReferralHeld(
            referral_id=rid, agency=state.agency, reason=command.reason, held_at=now, by=by
        )
    if isinstance(command, LiftHold):
        return ReferralResumed(referral_id=rid, agency=state.agency, resumed_at=now, by=by)
    # Every other action is by staff of the agency holding the referral (see check()).
    assert state.agency is not None
    return _staff_event(state, state.agency, command, by, now)


def _staff_event(
    state: CaseState, agency: str, command: Command, by: str, now: datetime
) -> EventData:
    common = {"referral_id": state.referral_id, "agency": agency, "by": by}
    match command:
        case Accept():
            return ReferralAccepted(**common, accepted_at=now)
        case Decline(reason=DeclineReason() as reason):
            return ReferralDeclined(**common, reason=reason, declined_at=now)
        case Assign():
            return ReferralAssigned(**common, worker=command.worker, assigned_at=now)
        case RecordContact():
            return ContactAttempted(
                **common, method=command.method, result=command.result, attempted_at=now
            )
        case RecordVisitAttempt():
            return VisitAttempted(**common, result=command.result, attempted_at=now)
        case RecordVisit():
            return VisitCompleted(**common, visited_at=now)
        case RecordEngagement():
            return EngagementRecorded(**common, level=command.level, recorded_at=now)
        case Complete():
            return ReferralCompleted(**common, outcome=command.outcome, completed_at=now)
        case Close() if state.outcome is not None:
            return ReferralClosed(**common, outcome=Outcome(state.outcome), closed_at=now)
    raise AssertionError(f"no event for {type(command).__name__}")
