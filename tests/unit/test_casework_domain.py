"""casework's fold: the state a referral is in after the events it went through."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from referral_schemas import (
    Envelope,
    IntelligenceWithdrawn,
    LinkBasis,
    ReferralLinked,
    RiskLevel,
    load_sample,
    parse_event,
)
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
    ReferralRerouted,
    ReferralResumed,
    RerouteCause,
    VisitAttempted,
    VisitCompleted,
    VisitResult,
)

from services.casework.domain import CaseState, Status, UnknownReferral, apply
from tests.unit.test_casework_helpers import (
    AGENCY,
    NOW,
    OTHER_AGENCY,
    breached,
    cancelled,
    envelope,
    escalated,
    opened,
    routed,
    staff_event,
)

pytestmark = pytest.mark.unit
RID = uuid.UUID("c232a737-31b7-496e-a7d2-f23db97a6c6a")
WHO: dict[str, Any] = {"referral_id": RID, "agency": AGENCY, "by": "worker-1"}


def fold(*events: Envelope[Any]) -> CaseState:
    state: CaseState | None = None
    for event in events:
        state = apply(state, event)
    assert state is not None
    return state


def accepted() -> list[Envelope[Any]]:
    return [opened(RID), routed(RID), staff_event(ReferralAccepted(**WHO, accepted_at=NOW), RID)]


def test_opened_keeps_only_the_minimised_referral() -> None:
    state = fold(opened(RID, risk=RiskLevel.CRITICAL))
    assert state.status is Status.OPENED
    assert state.agency is None
    assert state.risk_level == "critical"
    assert state.subject.family_name == "Testperson"
    assert state.address.district == "LA14"
    assert "narrative" not in state.model_dump_json()


def test_the_golden_sample_folds() -> None:
    state = fold(parse_event(load_sample("ReferralOpened.v1")))
    assert state.force == "cumbria"
    assert state.visitor_safety[-1] == "do_not_visit_alone"


def test_routed_puts_it_in_the_agency_queue_awaiting_acceptance() -> None:
    state = fold(opened(RID), routed(RID))
    assert (state.status, state.agency, state.area) == (
        Status.AWAITING_ACCEPTANCE,
        AGENCY,
        "barrow",
    )
    assert state.due_by == NOW + timedelta(hours=48)


def test_linked_intelligence_raises_the_risk() -> None:
    link = ReferralLinked(
        referral_id=RID,
        force="cumbria",
        intelligence_ref="TEST/LINK1",
        link_basis=LinkBasis.SAME_PERSON,
        linked_at=NOW,
        risk_level=RiskLevel.CRITICAL,
        reason_categories=["cuckooing", "child_criminal_exploitation"],
        visitor_safety=["do_not_visit_alone"],
    )
    state = fold(opened(RID), envelope(link, RID))
    assert state.risk_level == "critical"
    assert state.reason_categories == ("cuckooing", "child_criminal_exploitation")


def test_rerouted_moves_it_to_the_new_agency_and_clears_overdue() -> None:
    move = ReferralRerouted(
        referral_id=RID,
        from_agency=AGENCY,
        to_agency=OTHER_AGENCY,
        area="barrow",
        cause=RerouteCause.ACCEPTANCE_DEADLINE_MISSED,
        due_by=NOW + timedelta(hours=96),
        rerouted_at=NOW,
        directory_version=2,
        isa_version="cumbria-1clic-isa-v1",
    )
    state = fold(opened(RID), routed(RID), breached(RID), envelope(move, RID))
    assert (state.agency, state.status, state.overdue) == (
        OTHER_AGENCY,
        Status.AWAITING_ACCEPTANCE,
        False,
    )


def test_sla_breach_marks_overdue_only_for_the_agency_holding_it() -> None:
    assert fold(opened(RID), routed(RID), breached(RID)).overdue
    assert not fold(opened(RID), routed(RID), breached(RID, agency=OTHER_AGENCY)).overdue


def test_escalated_has_no_agency() -> None:
    state = fold(opened(RID), routed(RID), escalated(RID))
    assert (state.status, state.agency) == (Status.ESCALATED, None)


def test_declined_loses_the_agency_until_routed_again() -> None:
    decline = ReferralDeclined(**WHO, reason=DeclineReason.NO_CAPACITY, declined_at=NOW)
    state = fold(opened(RID), routed(RID), staff_event(decline, RID))
    assert (state.status, state.agency) == (Status.DECLINED, None)
    again = apply(state, routed(RID, agency=OTHER_AGENCY))
    assert again is not None
    assert (again.status, again.agency) == (Status.AWAITING_ACCEPTANCE, OTHER_AGENCY)


def test_work_on_an_accepted_referral_is_counted() -> None:
    later = NOW + timedelta(hours=2)
    events = [
        ReferralAssigned(**WHO, worker="worker-2", assigned_at=NOW),
        ContactAttempted(
            **WHO, method=ContactMethod.PHONE, result=ContactResult.NO_ANSWER, attempted_at=NOW
        ),
        ContactAttempted(
            **WHO,
            method=ContactMethod.IN_PERSON,
            result=ContactResult.SPOKE_TO_PERSON,
            attempted_at=later,
        ),
        VisitAttempted(**WHO, result=VisitResult.NO_ANSWER, attempted_at=later),
        VisitCompleted(**WHO, visited_at=later),
        EngagementRecorded(**WHO, level=EngagementLevel.ENGAGED, recorded_at=later),
    ]
    state = fold(*accepted(), *(staff_event(e, RID) for e in events))
    assert state.status is Status.ACCEPTED
    assert state.assigned_to == "worker-2"
    assert (state.contact_attempts, state.visit_attempts, state.visits_completed) == (2, 1, 1)
    assert state.first_contact_at == NOW
    assert state.engagement == "engaged"


def test_hold_and_resume() -> None:
    hold = ReferralHeld(
        referral_id=RID,
        agency=AGENCY,
        reason=HoldReason.LIVE_POLICE_OPERATION,
        held_at=NOW,
        by="spoc-1",
    )
    held = fold(*accepted(), envelope(hold, RID, actor="user:spoc-1"))
    assert (held.held, held.hold_reason) == (True, "live_police_operation")
    resume = ReferralResumed(referral_id=RID, agency=AGENCY, resumed_at=NOW, by="spoc-1")
    resumed = apply(held, envelope(resume, RID, actor="user:spoc-1"))
    assert resumed is not None
    assert (resumed.held, resumed.hold_reason) == (False, None)


def test_completed_then_closed_with_the_outcome() -> None:
    done = ReferralCompleted(**WHO, outcome=Outcome.ENGAGED_WITH_SUPPORT, completed_at=NOW)
    closed = ReferralClosed(**WHO, outcome=Outcome.ENGAGED_WITH_SUPPORT, closed_at=NOW)
    completed_state = fold(*accepted(), staff_event(done, RID))
    assert (completed_state.status, completed_state.outcome) == (
        Status.COMPLETED,
        "engaged_with_support",
    )
    assert fold(*accepted(), staff_event(done, RID), staff_event(closed, RID)).status is (
        Status.CLOSED
    )


def test_cancelled_keeps_the_agency_and_shows_the_reason() -> None:
    state = fold(opened(RID), routed(RID), cancelled(RID))
    assert (state.status, state.agency, state.cancel_reason) == (
        Status.CANCELLED,
        AGENCY,
        "intelligence_withdrawn",
    )


def test_an_event_before_the_referral_was_opened_is_refused() -> None:
    with pytest.raises(UnknownReferral):
        apply(None, routed(RID))


def test_a_second_opened_is_ignored_and_unrelated_events_change_nothing() -> None:
    state = fold(opened(RID), routed(RID))
    assert apply(state, opened(RID, risk=RiskLevel.LOW)) is state
    withdrawal = parse_event(load_sample("IntelligenceWithdrawn.v1"))
    assert isinstance(withdrawal.data, IntelligenceWithdrawn)
    assert apply(state, withdrawal) is state
