"""The events an allowed action records, in the order they land. Pure.

``decisions.decide`` has checked the action may be taken; this only builds its events.
"""

from datetime import datetime

from referral_schemas import EventData
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    DeclineReason,
    EngagementRecorded,
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
)
from referral_schemas.referral_v1 import ReferralCancelled
from referral_schemas.resolution_v1 import EscalationClosed, ReferralDirected

from services.casework.commands import (
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
    Role,
)
from services.casework.domain import CaseState


def action_events(
    state: CaseState, command: Command, actor: Actor, now: datetime
) -> list[EventData]:
    """The action's events, in the order they land: a support worker's accept also assigns
    the referral to them (the shared table allows ReferralAssigned once accepted)."""
    event = _event(state, command, actor.user, now)
    if isinstance(event, ReferralAccepted) and actor.role is Role.SUPPORT_WORKER:
        assigned = ReferralAssigned(
            referral_id=event.referral_id,
            agency=event.agency,
            by=actor.user,
            worker=actor.user,
            assigned_at=now,
        )
        return [event, assigned]
    return [event]


def _event(state: CaseState, command: Command, by: str, now: datetime) -> EventData:
    rid = state.referral_id
    match command:
        case PlaceHold():
            return ReferralHeld(
                referral_id=rid, agency=state.agency, reason=command.reason, held_at=now, by=by
            )
        case LiftHold():
            return ReferralResumed(referral_id=rid, agency=state.agency, resumed_at=now, by=by)
        case Direct():
            return ReferralDirected(
                referral_id=rid,
                agency=command.agency,
                reason=command.reason,
                directed_at=now,
                by=by,
            )
        case CloseEscalation():
            return EscalationClosed(referral_id=rid, outcome=command.outcome, closed_at=now, by=by)
        case CancelReferral():
            return ReferralCancelled(referral_id=rid, reason=command.reason, cancelled_at=now)
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
