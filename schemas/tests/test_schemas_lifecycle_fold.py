"""The shared lifecycle fold, one story per rule of the contract."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referral_schemas import (
    CancellationReason,
    ContactAttempted,
    ContactMethod,
    ContactResult,
    EscalationClosed,
    EscalationReason,
    HoldReason,
    Outcome,
    ReferralAccepted,
    ReferralCancelled,
    ReferralClosed,
    ReferralCompleted,
    ReferralDirected,
    ReferralEscalated,
    ReferralHeld,
    ReferralOpened,
    ReferralResumed,
    ReferralRouted,
    SlaBreached,
    VisitAttempted,
    VisitCompleted,
    VisitResult,
    load_sample,
    parse_event,
)
from referral_schemas.envelope import EventData
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve, police_outcome, reports_to_police
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.resolution_v1 import DirectionReason

pytestmark = pytest.mark.contract

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
OPENED: ReferralOpened = parse_event(load_sample("ReferralOpened.v2")).data
RID = OPENED.referral_id


def fold(*events: EventData) -> Lifecycle:
    state: Lifecycle | None = None
    for event in events:
        result = evolve(state, event)
        if not isinstance(result, Refusal):
            state = result
    assert state is not None
    return state


def routed(agency: str = "twc-barrow", hours: int = 48, at: datetime = T0) -> ReferralRouted:
    return ReferralRouted(
        referral_id=RID,
        agency=agency,
        area="barrow",
        due_by=at + timedelta(hours=hours),
        routed_at=at,
        directory_version=1,
        isa_version="isa/1",
    )


def staff(model: type[EventData], **fields: Any) -> EventData:
    return model(referral_id=RID, agency="twc-barrow", by="w1", **fields)


def cancelled(reason: CancellationReason = CancellationReason.INTELLIGENCE_WITHDRAWN) -> EventData:
    return ReferralCancelled(referral_id=RID, reason=reason, cancelled_at=T0)


def held(at: datetime) -> EventData:
    return ReferralHeld(
        referral_id=RID, agency=None, reason=HoldReason.LIVE_POLICE_OPERATION, held_at=at, by="c1"
    )


def test_a_routing_that_lands_after_the_cancellation_has_no_effect() -> None:
    state = fold(OPENED, cancelled())
    result = evolve(state, routed())
    assert isinstance(result, Refusal)
    assert result.code == "referral_cancelled"
    assert state.status is ReferralStatus.CANCELLED
    assert state.holding_agency is None


def test_closed_stays_closed_whatever_lands_after() -> None:
    done = fold(
        OPENED,
        routed(),
        staff(ReferralAccepted, accepted_at=T0),
        staff(ReferralCompleted, outcome=Outcome.SIGNPOSTED, completed_at=T0),
        staff(ReferralClosed, outcome=Outcome.SIGNPOSTED, closed_at=T0),
    )
    assert done.status is ReferralStatus.CLOSED
    for late in (cancelled(), routed(), staff(ReferralAccepted, accepted_at=T0)):
        assert isinstance(evolve(done, late), Refusal)


def test_an_answer_from_an_agency_the_referral_is_not_with_has_no_effect() -> None:
    state = fold(OPENED, routed("twc-barrow"))
    refused = evolve(
        state, ReferralAccepted(referral_id=RID, agency="other", accepted_at=T0, by="x")
    )
    assert isinstance(refused, Refusal)
    assert refused.code == "wrong_agency"


def test_a_hold_pauses_the_deadline_and_resuming_restarts_it_with_the_time_left() -> None:
    state = fold(OPENED, routed(hours=48), held(T0 + timedelta(hours=10)))
    assert state.due_by is None
    assert state.paused_remaining == timedelta(hours=38)
    stale = SlaBreached(
        referral_id=RID, agency="twc-barrow", due_by=T0 + timedelta(hours=48), breached_at=T0
    )
    assert isinstance(evolve(state, stale), Refusal)
    resumed = fold(
        OPENED,
        routed(hours=48),
        held(T0 + timedelta(hours=10)),
        ReferralResumed(referral_id=RID, agency=None, resumed_at=T0 + timedelta(days=5), by="c1"),
    )
    assert resumed.due_by == T0 + timedelta(days=5, hours=38)


def test_a_hold_blocks_every_worker_action() -> None:
    state = fold(OPENED, routed(), staff(ReferralAccepted, accepted_at=T0), held(T0))
    for action in (
        staff(
            ContactAttempted,
            method=ContactMethod.PHONE,
            result=ContactResult.NO_ANSWER,
            attempted_at=T0,
        ),
        staff(VisitCompleted, visited_at=T0),
        staff(ReferralCompleted, outcome=Outcome.SIGNPOSTED, completed_at=T0),
    ):
        refused = evolve(state, action)
        assert isinstance(refused, Refusal)
        assert refused.code == "referral_held"


def test_first_contact_is_speaking_to_the_person_or_a_visit_never_an_unanswered_try() -> None:
    accepted = (OPENED, routed(), staff(ReferralAccepted, accepted_at=T0))
    unanswered = staff(
        ContactAttempted,
        method=ContactMethod.PHONE,
        result=ContactResult.NO_ANSWER,
        attempted_at=T0 + timedelta(hours=1),
    )
    failed_visit = staff(
        VisitAttempted, result=VisitResult.NO_ANSWER, attempted_at=T0 + timedelta(hours=2)
    )
    visit = staff(VisitCompleted, visited_at=T0 + timedelta(hours=3))
    assert fold(*accepted, unanswered, failed_visit).first_contact_at is None
    assert fold(*accepted, unanswered, visit).first_contact_at == T0 + timedelta(hours=3)


def test_police_hear_moved_out_of_area_for_a_moved_away_cancellation_once_routed() -> None:
    never_routed = fold(OPENED, cancelled(CancellationReason.MOVED_AWAY))
    assert not reports_to_police(never_routed)
    worked = fold(
        OPENED,
        routed(),
        staff(ReferralAccepted, accepted_at=T0),
        cancelled(CancellationReason.MOVED_AWAY),
    )
    assert reports_to_police(worked)
    assert police_outcome(worked) is Outcome.MOVED_OUT_OF_AREA
    withdrawn = fold(OPENED, routed(), cancelled())
    assert police_outcome(withdrawn) is Outcome.INTELLIGENCE_WITHDRAWN


def test_the_coordinator_directs_an_escalation_and_only_that_agency_may_get_it() -> None:
    escalated = fold(
        OPENED,
        ReferralEscalated(
            referral_id=RID,
            reason=EscalationReason.NO_AGENCY_WITH_CAPACITY,
            area="barrow",
            escalated_at=T0,
        ),
    )
    directed = fold(
        OPENED,
        ReferralEscalated(
            referral_id=RID,
            reason=EscalationReason.NO_AGENCY_WITH_CAPACITY,
            area="barrow",
            escalated_at=T0,
        ),
        ReferralDirected(
            referral_id=RID,
            agency="twc-kendal",
            reason=DirectionReason.CAPACITY_AGREED_WITH_AGENCY,
            directed_at=T0,
            by="c1",
        ),
    )
    assert escalated.status is ReferralStatus.ESCALATED
    assert directed.status is ReferralStatus.OPENED
    refused = evolve(directed, routed("twc-barrow"))
    assert isinstance(refused, Refusal)
    assert refused.code == "not_directed_agency"
    offered = evolve(directed, routed("twc-kendal"))
    assert not isinstance(offered, Refusal)
    assert offered.status is ReferralStatus.AWAITING_ACCEPTANCE


def test_the_coordinator_can_close_an_escalation_even_after_a_retry_landed_first() -> None:
    state = fold(
        OPENED,
        ReferralEscalated(
            referral_id=RID,
            reason=EscalationReason.NO_AGENCY_WITH_CAPACITY,
            area="barrow",
            escalated_at=T0,
        ),
        routed(),
        EscalationClosed(
            referral_id=RID, outcome=Outcome.SAFEGUARDING_ESCALATED, closed_at=T0, by="c1"
        ),
    )
    assert state.status is ReferralStatus.CLOSED
    assert state.holding_agency is None
    assert police_outcome(state) is Outcome.SAFEGUARDING_ESCALATED


def test_a_direction_stands_through_an_escalation_that_landed_after_it() -> None:
    """routing escalated before it saw the coordinator's direction: the direction still
    stands, so routing offers it to that agency and to no other."""
    escalation = ReferralEscalated(
        referral_id=RID,
        reason=EscalationReason.NO_AGENCY_COVERS_AREA,
        area="barrow",
        escalated_at=T0,
    )
    direction = ReferralDirected(
        referral_id=RID,
        agency="twc-kendal",
        reason=DirectionReason.ONLY_SUITABLE_AGENCY,
        directed_at=T0,
        by="c1",
    )
    state = fold(OPENED, direction, escalation)
    assert (state.status, state.directed_to) == (ReferralStatus.ESCALATED, "twc-kendal")
    assert isinstance(evolve(state, routed("twc-barrow")), Refusal)
    assert not isinstance(evolve(state, routed("twc-kendal")), Refusal)


def test_an_ended_referral_keeps_no_hold() -> None:
    state = fold(OPENED, routed(), held(T0), cancelled())
    assert (state.held, state.hold_reason) == (False, None)
