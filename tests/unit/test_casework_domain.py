"""casework's fold: the state a referral is in after the events it went through, built on
the shared lifecycle; the owner's answers to proposals; its own pending decisions shown."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from referral_schemas import (
    Envelope,
    ErasureScope,
    IntelligenceWithdrawn,
    LinkBasis,
    PersonalDataErased,
    ReferralLinked,
    RiskLevel,
    load_sample,
    parse_event,
)
from referral_schemas.lifecycle import Refusal
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
from referral_schemas.referral_v1 import ReferralCancelled
from referral_schemas.resolution_v1 import OfferExpired

from services.casework.domain import CaseState, Status, answer, evolve, shown
from tests.support.sealing import details_of
from tests.unit.test_casework_helpers import (
    AGENCY,
    NOW,
    OTHER_AGENCY,
    amended,
    breached,
    cancellation_requested,
    cancelled,
    envelope,
    escalated,
    expired,
    held,
    opened,
    resumed,
    routed,
    staff_event,
)

pytestmark = pytest.mark.unit
RID = uuid.UUID("c232a737-31b7-496e-a7d2-f23db97a6c6a")
WHO: dict[str, Any] = {"referral_id": RID, "agency": AGENCY, "by": "worker-1"}


def apply(state: CaseState | None, event: Envelope[Any]) -> CaseState:
    result = evolve(state, event)
    assert isinstance(result, CaseState), result
    return result


def fold(*events: Envelope[Any]) -> CaseState:
    state: CaseState | None = None
    for event in events:
        state = apply(state, event)
    assert state is not None
    return state


def refusal(state: CaseState | None, event: Envelope[Any]) -> str:
    result = evolve(state, event)
    assert isinstance(result, Refusal)
    return result.code


def accepted() -> list[Envelope[Any]]:
    return [opened(RID), routed(RID), staff_event(ReferralAccepted(**WHO, accepted_at=NOW), RID)]


def test_opened_keeps_only_the_minimised_referral() -> None:
    state = fold(opened(RID, risk=RiskLevel.CRITICAL))
    assert state.status is Status.OPENED
    assert state.agency is None
    assert state.risk_level == "critical"
    assert state.personal is not None
    assert details_of(RID, state.personal).subject.family_name == "Testperson"
    assert state.district == "LA14"
    assert "Testperson" not in state.model_dump_json(), "kept sealed"
    assert "narrative" not in state.model_dump_json()


def test_the_golden_sample_folds() -> None:
    state = fold(parse_event(load_sample("ReferralOpened.v2")))
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


def test_rerouted_moves_it_to_the_new_agency_after_the_offer_expired() -> None:
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
    state = fold(opened(RID), routed(RID), breached(RID), expired(RID), envelope(move, RID))
    assert (state.agency, state.status, state.due_by) == (
        OTHER_AGENCY,
        Status.AWAITING_ACCEPTANCE,
        NOW + timedelta(hours=96),
    )
    assert state.lifecycle.tried == (AGENCY, OTHER_AGENCY)


def test_a_breach_alone_changes_nothing_the_owner_expires_the_offer() -> None:
    awaiting = fold(opened(RID), routed(RID))
    assert fold(opened(RID), routed(RID), breached(RID)).lifecycle == awaiting.lifecycle
    gone = fold(opened(RID), routed(RID), expired(RID))
    assert (gone.status, gone.agency) == (Status.REROUTING, None)


def test_escalated_has_no_agency() -> None:
    state = fold(opened(RID), routed(RID), expired(RID), escalated(RID))
    assert (state.status, state.agency) == (Status.ESCALATED, None)
    assert state.lifecycle.escalation_reason == "all_agencies_declined"


def test_declined_loses_the_agency_while_rerouting() -> None:
    decline = ReferralDeclined(**WHO, reason=DeclineReason.NO_CAPACITY, declined_at=NOW)
    state = fold(opened(RID), routed(RID), staff_event(decline, RID))
    assert (state.status, state.agency) == (Status.REROUTING, None)
    move = ReferralRerouted(
        referral_id=RID,
        from_agency=AGENCY,
        to_agency=OTHER_AGENCY,
        area="barrow",
        cause=RerouteCause.DECLINED,
        due_by=NOW + timedelta(hours=96),
        rerouted_at=NOW,
        directory_version=1,
        isa_version="cumbria-1clic-isa-v1",
    )
    again = apply(state, envelope(move, RID))
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
    assert state.first_contact_at == later, "an unanswered call is an attempt, not contact"
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
    after = apply(held, envelope(resume, RID, actor="user:spoc-1"))
    assert (after.held, after.hold_reason) == (False, None)


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


def test_an_event_before_the_referral_was_opened_has_no_effect() -> None:
    assert refusal(None, routed(RID)) == "unknown_referral"


def test_a_second_opened_and_unrelated_events_have_no_effect() -> None:
    state = fold(opened(RID), routed(RID))
    assert refusal(state, opened(RID, risk=RiskLevel.LOW)) == "already_opened"
    withdrawal = parse_event(load_sample("IntelligenceWithdrawn.v1"))
    assert isinstance(withdrawal.data, IntelligenceWithdrawn)
    assert refusal(state, withdrawal) == "not_a_lifecycle_event"


def test_a_late_routing_after_the_cancellation_has_no_effect() -> None:
    ended = fold(opened(RID), cancelled(RID))
    assert refusal(ended, routed(RID)) == "referral_cancelled"
    assert (ended.status, ended.agency) == (Status.CANCELLED, None)


def test_nothing_reopens_a_closed_referral() -> None:
    done = ReferralCompleted(**WHO, outcome=Outcome.ENGAGED_WITH_SUPPORT, completed_at=NOW)
    closed = ReferralClosed(**WHO, outcome=Outcome.ENGAGED_WITH_SUPPORT, closed_at=NOW)
    state = fold(*accepted(), staff_event(done, RID), staff_event(closed, RID))
    assert refusal(state, cancelled(RID)) == "referral_closed"
    assert answer(state, cancellation_requested(RID).data, NOW) == Refusal(
        "referral_closed", "the referral is already closed"
    )


def test_a_hold_pauses_the_acceptance_deadline_and_the_resume_restarts_it() -> None:
    paused = fold(opened(RID), routed(RID), held(RID, at=NOW + timedelta(hours=40)))
    assert (paused.held, paused.due_by, paused.paused_remaining) == (True, None, timedelta(hours=8))
    again = apply(paused, resumed(RID, at=NOW + timedelta(hours=100)))
    assert (again.held, again.due_by) == (False, NOW + timedelta(hours=108))


def test_an_amendment_replaces_the_person_address_risk_reasons_and_markers() -> None:
    state = fold(opened(RID), routed(RID), amended(RID))
    assert state.personal is not None
    details = details_of(RID, state.personal)
    assert (details.subject.family_name, details.address.line1, state.district) == (
        "Otherperson",
        "2 Other Road",
        "LA9",
    )
    assert (state.risk_level, state.reason_categories, state.visitor_safety) == (
        "medium",
        ("debt_bondage",),
        ("aggressive_dogs",),
    )
    assert state.amended_at == NOW + timedelta(hours=2)
    assert state.status is Status.AWAITING_ACCEPTANCE


def test_the_previous_referral_is_carried() -> None:
    earlier = uuid.uuid4()
    assert fold(opened(RID, previous=earlier)).previous_referral_id == earlier
    assert fold(opened(RID)).previous_referral_id is None


def test_the_owner_expires_an_offer_still_open_at_that_agency_with_that_deadline() -> None:
    awaiting = fold(opened(RID), routed(RID))
    decided = answer(awaiting, breached(RID).data, NOW + timedelta(hours=49))
    assert isinstance(decided, OfferExpired)
    assert (decided.agency, decided.due_by, decided.expired_at) == (
        AGENCY,
        NOW + timedelta(hours=48),
        NOW + timedelta(hours=49),
    )


@pytest.mark.parametrize(
    ("history", "proposal", "code"),
    [
        ("accepted", breached(RID), "wrong_status"),
        ("awaiting", breached(RID, agency=OTHER_AGENCY), "wrong_agency"),
        ("awaiting", breached(RID, due_by=NOW), "stale_deadline"),
        ("held", breached(RID), "referral_held"),
        ("cancelled", breached(RID), "referral_cancelled"),
    ],
)
def test_a_breach_that_no_longer_holds_expires_nothing(
    history: str, proposal: Envelope[Any], code: str
) -> None:
    histories = {
        "accepted": accepted(),
        "awaiting": [opened(RID), routed(RID)],
        "held": [opened(RID), routed(RID), held(RID)],
        "cancelled": [opened(RID), routed(RID), cancelled(RID)],
    }
    result = answer(fold(*histories[history]), proposal.data, NOW)
    assert isinstance(result, Refusal)
    assert result.code == code


def test_the_owner_cancels_on_request_with_the_reason_and_the_references() -> None:
    state = fold(*accepted())
    decided = answer(state, cancellation_requested(RID).data, NOW)
    assert isinstance(decided, ReferralCancelled)
    assert (decided.reason.value, decided.withdrawn_intelligence_refs) == (
        "moved_away",
        ["TEST/WITHDRAWN1"],
    )
    assert answer(state, routed(RID).data, NOW) is None, "not a proposal"


def test_pending_decisions_are_shown_over_the_log_state() -> None:
    canonical = fold(opened(RID), routed(RID))
    accept = staff_event(ReferralAccepted(**WHO, accepted_at=NOW), RID)
    view = shown(canonical, [accept, accept])
    assert view.status is Status.ACCEPTED, "the second copy has no effect and is skipped"
    assert canonical.status is Status.AWAITING_ACCEPTANCE
    assert answer(view, breached(RID).data, NOW) == Refusal(
        "wrong_status", "SlaBreached has no effect while accepted"
    )


def _erased(at: datetime) -> Envelope[Any]:
    data = PersonalDataErased(
        referral_id=RID,
        scope=ErasureScope.REFERRAL,
        reason="Erasure request ER-1",
        requested_by="operator",
        erased_at=at,
        keys_destroyed=1,
    )
    return envelope(data, RID, at=at, actor="system:intake", source="referral-hub/intake")


def test_erasure_drops_the_sealed_details_in_any_status_and_a_later_amendment_stays_erased() -> (
    None
):
    open_state = fold(opened(RID), routed(RID), _erased(NOW + timedelta(hours=1)))
    assert (open_state.personal, open_state.erased_at) == (None, NOW + timedelta(hours=1))
    assert open_state.status is Status.AWAITING_ACCEPTANCE, "erasure changes no status"
    again = fold(opened(RID), routed(RID), _erased(NOW), amended(RID))
    assert again.personal is None, "the amendment's key was destroyed with the rest"
    assert again.erased_at == NOW


def test_a_row_stored_before_sealing_reads_without_the_person() -> None:
    stored = fold(opened(RID), routed(RID)).model_dump(mode="json")
    del stored["personal"], stored["district"]
    stored["subject"] = {"given_name": "Casey", "family_name": "Testperson"}
    stored["address"] = {"line1": "1 Test Street", "town": "Barrow", "district": "LA14"}
    state = CaseState.model_validate(stored)
    assert (state.personal, state.district, state.status) == (
        None,
        "LA14",
        Status.AWAITING_ACCEPTANCE,
    )
    assert "Testperson" not in state.model_dump_json()
