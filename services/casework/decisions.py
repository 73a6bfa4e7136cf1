"""What staff and police coordinators may do to a referral. Pure. (The events an allowed
action records are built in ``action_events``.)

``decide(state, command, actor, now)`` returns the event payloads to record or a
``Refusal`` saying why not. ``state`` is what casework shows: the log's state with its own
decisions not yet back from the log laid over it (``domain.shown``). Checks run in a fixed
order: can the actor know of the referral at all (otherwise it is "not found", so existence
never leaks), may their role do this, is it still with their agency, is the referral still
open, is it in a status that allows the action, is it theirs to work (a support worker
works only the referrals assigned to them; an agency lead any of the agency's), is it
held, then the action's own rules; last, the shared fold must accept the events where they
would land.

A support worker may answer an offer to their agency (accept or decline; nobody is
assigned before acceptance), and accepting assigns the referral to them: their accept is
recorded as ReferralAccepted then ReferralAssigned, in one decision. They may take an
accepted referral nobody is assigned to (assign themselves). Anything else on a referral
not assigned to them is refused 403 ``not_assigned_to_you``.

The statuses and the hold rule of each action come from the shared transition table
(``lifecycle_rules.RULES``), so casework cannot allow what the log would refuse.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from referral_schemas import EventData
from referral_schemas.lifecycle import Refusal as LifecycleRefusal
from referral_schemas.lifecycle import evolve
from referral_schemas.lifecycle_rules import BEFORE_ACCEPTANCE, ReferralStatus
from referral_schemas.lifecycle_rules import RULES as LIFECYCLE

from services.casework.action_events import action_events
from services.casework.commands import (
    POLICE,
    STAFF,
    Accept,
    Actor,
    Assign,
    CancelReferral,
    Close,
    CloseEscalation,
    Command,
    Complete,
    Decline,
    Direct,
    LiftHold,
    PlaceHold,
    RecordContact,
    RecordEngagement,
    RecordVisit,
    RecordVisitAttempt,
    Refusal,
    RefusalKind,
    Role,
)
from services.casework.domain import CaseState

__all__ = [
    "POLICE",
    "STAFF",
    "Accept",
    "Actor",
    "AgencyDirectory",
    "Assign",
    "CancelReferral",
    "Close",
    "CloseEscalation",
    "Command",
    "Complete",
    "Decline",
    "Direct",
    "LiftHold",
    "PlaceHold",
    "RecordContact",
    "RecordEngagement",
    "RecordVisit",
    "RecordVisitAttempt",
    "Refusal",
    "RefusalKind",
    "Role",
    "can_see",
    "check",
    "decide",
]

AgencyDirectory = Mapping[str, bool]
"""Agency codes of the directory in force, each with whether it is active."""


@dataclass(frozen=True)
class Rule:
    """Who may take an action, the event it records, and what to say otherwise."""

    roles: frozenset[Role]
    event_type: str
    code: str
    message: str
    only_in: frozenset[ReferralStatus] | None = None
    """Narrower than the shared table allows, for this actor (None: as the table says)."""
    assigned_work: bool = False
    """A support worker may do it only on a referral assigned to them."""

    @property
    def statuses(self) -> frozenset[ReferralStatus]:
        valid = LIFECYCLE[self.event_type].valid_in
        return valid if self.only_in is None else valid & self.only_in

    @property
    def not_while_held(self) -> bool:
        return LIFECYCLE[self.event_type].not_while_held


def _awaiting(verb: str, event_type: str) -> Rule:
    return Rule(
        STAFF,
        event_type,
        "not_awaiting_acceptance",
        f"only a referral awaiting acceptance can be {verb}",
    )


def _accepted(before: str, event_type: str) -> Rule:
    return Rule(
        STAFF,
        event_type,
        "not_accepted",
        f"the referral must be accepted before {before}",
        assigned_work=True,
    )


def _resolution(event_type: str, only_in: frozenset[ReferralStatus] | None = None) -> Rule:
    return Rule(
        POLICE,
        event_type,
        "already_accepted",
        "an agency has accepted the referral; a coordinator resolves it only before then",
        only_in,
    )


# The shared table makes every worker action wait while held: a police hold means "do not
# approach", and the acceptance deadline is paused meanwhile.
RULES: dict[type[Command], Rule] = {
    Accept: _awaiting("accepted", "ReferralAccepted"),
    Decline: _awaiting("declined", "ReferralDeclined"),
    Assign: _accepted("assigning", "ReferralAssigned"),
    RecordContact: _accepted("contact is recorded", "ContactAttempted"),
    RecordVisitAttempt: _accepted("visits are recorded", "VisitAttempted"),
    RecordVisit: _accepted("visits are recorded", "VisitCompleted"),
    RecordEngagement: _accepted("engagement is recorded", "EngagementRecorded"),
    Complete: _accepted("completing", "ReferralCompleted"),
    Close: Rule(
        STAFF,
        "ReferralClosed",
        "not_completed",
        "only a completed referral can be closed",
        assigned_work=True,
    ),
    PlaceHold: Rule(POLICE, "ReferralHeld", "not_open", "only an open referral can be held"),
    LiftHold: Rule(POLICE, "ReferralResumed", "not_open", "only an open referral has a hold"),
    Direct: _resolution("ReferralDirected"),
    CloseEscalation: _resolution("EscalationClosed"),
    # The shared table lets casework cancel any open referral (intake's withdrawals); a
    # coordinator cancels only what no agency has accepted.
    CancelReferral: _resolution("ReferralCancelled", BEFORE_ACCEPTANCE),
}


def can_see(state: CaseState, actor: Actor) -> bool:
    """Staff see their agency's referrals; police coordinators those their force raised."""
    if actor.role in STAFF:
        return actor.agency is not None and state.agency == actor.agency
    if actor.role in POLICE:
        return actor.force is not None and state.force == actor.force
    return False


def _offered_before(state: CaseState, actor: Actor) -> bool:
    """Staff of an agency the referral was offered to and has left (declined, expired):
    they knew of it, so a stale action is told it is no longer theirs, not "not found"."""
    return actor.role in STAFF and actor.agency in state.lifecycle.tried


def _not_found() -> Refusal:
    return Refusal("not_found", "no such referral", RefusalKind.OUT_OF_SCOPE)


def _not_theirs(state: CaseState, command: Command, actor: Actor) -> Refusal | None:
    """A support worker works only the referrals assigned to them; they may take an
    accepted one nobody is assigned to. An agency lead works any of the agency's."""
    if actor.role is not Role.SUPPORT_WORKER or not RULES[type(command)].assigned_work:
        return None
    if state.assigned_to == actor.user:
        return None
    if state.assigned_to is None:
        if isinstance(command, Assign):
            return None
        message = "the referral is not assigned to you; assign it to yourself first"
    else:
        message = "the referral is assigned to a colleague; an agency lead can reassign it"
    return Refusal("not_assigned_to_you", message, RefusalKind.FORBIDDEN)


def check(state: CaseState, command: Command, actor: Actor) -> Refusal | None:
    """The general checks shared by every action (see the module docstring)."""
    rule = RULES[type(command)]
    seen = can_see(state, actor)
    if not seen and not _offered_before(state, actor):
        return _not_found()
    if actor.role not in rule.roles:
        roles = ", ".join(sorted(rule.roles))
        return Refusal("role_not_allowed", f"this action needs role {roles}", RefusalKind.FORBIDDEN)
    if not seen:
        return Refusal(rule.code, "the referral is no longer with your agency")
    if state.ended:
        return Refusal(f"referral_{state.status}", f"the referral is {state.status}")
    if state.status not in rule.statuses:
        return Refusal(rule.code, f"{rule.message} (it is {state.status})")
    not_theirs = _not_theirs(state, command, actor)
    if not_theirs is not None:
        return not_theirs
    if rule.not_while_held and state.held:
        return Refusal("referral_held", "the referral is on a police hold; do not approach")
    return None


def _directed_agency(command: Direct, agencies: AgencyDirectory | None) -> Refusal | None:
    """A directed agency must be in the directory in force and active, when casework has
    received one; without one, routing judges it (and escalates again if it cannot)."""
    if agencies is None:
        return None
    if command.agency not in agencies:
        return Refusal(
            "unknown_agency", "no agency with that code in the directory", RefusalKind.INVALID
        )
    if not agencies[command.agency]:
        return Refusal("agency_inactive", "that agency is not active", RefusalKind.INVALID)
    return None


def _specific(
    state: CaseState, command: Command, actor: Actor, agencies: AgencyDirectory | None
) -> Refusal | None:
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
    if isinstance(command, Direct):
        return _directed_agency(command, agencies)
    return None


def decide(
    state: CaseState,
    command: Command,
    actor: Actor,
    now: datetime,
    agencies: AgencyDirectory | None = None,
) -> list[EventData] | Refusal:
    """``agencies``: the directory in force, if casework has one (checks a direction)."""
    refusal = check(state, command, actor) or _specific(state, command, actor, agencies)
    if refusal is not None:
        return refusal
    events = action_events(state, command, actor, now)
    lifecycle = state.lifecycle
    for event in events:
        landed = evolve(lifecycle, event)
        if isinstance(landed, LifecycleRefusal):
            return Refusal(landed.code, landed.message)
        lifecycle = landed
    return events
