"""feedback's pure decisions: what the police get back about a referral, and when."""

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from referral_schemas import (
    CancellationReason,
    ContactAttempted,
    ContactMethod,
    ContactResult,
    EventData,
    LinkBasis,
    Outcome,
    OutcomeReported,
    ReferralAccepted,
    ReferralCancelled,
    ReferralClosed,
    ReferralEscalated,
    ReferralLinked,
    ReferralOpened,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
    VisitCompleted,
    load_sample,
    parse_event,
)
from referral_schemas.lifecycle_v1 import EscalationReason

from services.feedback import domain
from services.feedback.domain import FeedbackState

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
REFERRAL = uuid.UUID("c232a737-31b7-496e-a7d2-f23db97a6c6a")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def opened(ref: str = "CUM/2026/000001", force: str = "cumbria") -> ReferralOpened:
    data = parse_event(load_sample("ReferralOpened.v1")).data
    assert isinstance(data, ReferralOpened)
    return data.model_copy(
        update={"referral_id": REFERRAL, "intelligence_ref": ref, "force": force, "opened_at": T0}
    )


def linked(ref: str, force: str = "cumbria") -> ReferralLinked:
    return ReferralLinked(
        referral_id=REFERRAL,
        force=force,
        intelligence_ref=ref,
        link_basis=LinkBasis.SAME_PERSON,
        linked_at=at(1),
        risk_level=opened().risk_level,
        reason_categories=list(opened().reason_categories),
    )


def routed(agency: str) -> ReferralRouted:
    return ReferralRouted(
        referral_id=REFERRAL,
        agency=agency,
        area="barrow",
        due_by=at(48),
        routed_at=at(0.1),
        directory_version=1,
        isa_version="isa-1",
    )


def contact(hours: float, result: ContactResult = ContactResult.SPOKE_TO_PERSON) -> EventData:
    return ContactAttempted(
        referral_id=REFERRAL,
        agency="twc-barrow",
        method=ContactMethod.PHONE,
        result=result,
        attempted_at=at(hours),
        by="twc-0487",
    )


def closed(
    outcome: Outcome = Outcome.ENGAGED_WITH_SUPPORT, agency: str = "twc-barrow"
) -> ReferralClosed:
    return ReferralClosed(
        referral_id=REFERRAL, agency=agency, outcome=outcome, closed_at=at(200), by="twc-0231"
    )


def cancelled(reason: CancellationReason) -> ReferralCancelled:
    return ReferralCancelled(referral_id=REFERRAL, reason=reason, cancelled_at=at(30))


def run(events: Iterable[EventData]) -> tuple[FeedbackState, list[OutcomeReported]]:
    state = FeedbackState(REFERRAL)
    reports = []
    for n, event in enumerate(events):
        decision = domain.decide(state, event, now=at(300 + n))
        state = decision.state
        if decision.report is not None:
            reports.append(decision.report)
    return state, reports


def test_a_closed_referral_reports_refs_outcome_dates_and_agency_only() -> None:
    _, reports = run(
        [opened(), linked("CUM/2026/000002"), routed("twc-barrow"), contact(5), closed()]
    )
    assert len(reports) == 1
    report = reports[0]
    assert report.referral_id == REFERRAL
    assert report.force == "cumbria"
    assert report.intelligence_refs == ["CUM/2026/000001", "CUM/2026/000002"]
    assert report.outcome is Outcome.ENGAGED_WITH_SUPPORT
    assert report.agency == "twc-barrow"
    assert (report.opened_at, report.first_contact_at, report.closed_at) == (T0, at(5), at(200))
    assert report.reported_at == at(304)
    text = json.dumps(report.model_dump(mode="json"))
    for personal in ("Casey", "Marsh", "1987-11-23", "Harbour", "LA14", "+44", "twc-0"):
        assert personal not in text


def test_nothing_is_reported_before_the_referral_ends() -> None:
    state, reports = run([opened(), routed("twc-barrow"), contact(3)])
    assert reports == []
    assert state.reported_at is None


def test_a_second_close_reports_nothing_new() -> None:
    state, reports = run([opened(), closed(), closed(Outcome.SIGNPOSTED)])
    assert [r.outcome for r in reports] == [Outcome.ENGAGED_WITH_SUPPORT]
    assert domain.decide(state, closed(), now=at(400)).report is None


def test_first_contact_is_the_earliest_time_the_person_was_reached() -> None:
    unanswered = contact(1, ContactResult.NO_ANSWER)
    visit = VisitCompleted(referral_id=REFERRAL, agency="twc-barrow", visited_at=at(4), by="w-1")
    _, reports = run([opened(), unanswered, contact(9), visit, contact(6), closed()])
    assert reports[0].first_contact_at == at(4)


def test_first_contact_is_none_when_nobody_was_reached() -> None:
    no_answer = contact(2, ContactResult.NO_ANSWER)
    _, reports = run([opened(), no_answer, closed(Outcome.NO_CONTACT_AFTER_ATTEMPTS)])
    assert reports[0].first_contact_at is None
    assert reports[0].outcome is Outcome.NO_CONTACT_AFTER_ATTEMPTS


def test_another_forces_linked_intelligence_is_not_reported_to_this_force() -> None:
    events = [
        opened(),
        linked("LAN/2026/9", force="lancashire"),
        linked("CUM/2026/3"),
        linked("CUM/2026/3"),
    ]
    _, reports = run([*events, closed()])
    assert reports[0].intelligence_refs == ["CUM/2026/000001", "CUM/2026/3"]


def test_the_agency_is_the_last_one_that_held_the_referral() -> None:
    reroute = ReferralRerouted(
        referral_id=REFERRAL,
        from_agency="twc-barrow",
        to_agency="cumbria-recovery-south",
        area="barrow",
        cause=RerouteCause.DECLINED,
        due_by=at(60),
        rerouted_at=at(12),
        directory_version=1,
        isa_version="isa-1",
    )
    escalate = ReferralEscalated(
        referral_id=REFERRAL,
        reason=EscalationReason.ALL_AGENCIES_DECLINED,
        area="barrow",
        escalated_at=at(20),
    )
    events = [opened(), routed("twc-barrow"), reroute, escalate]
    _, reports = run([*events, cancelled(CancellationReason.MOVED_AWAY)])
    assert reports[0].agency == "cumbria-recovery-south"
    _, never_routed = run([opened(), cancelled(CancellationReason.MOVED_AWAY)])
    assert never_routed[0].agency is None


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CancellationReason.INTELLIGENCE_WITHDRAWN, None),
        (CancellationReason.DUPLICATE, None),
        (CancellationReason.NO_LONGER_REQUIRED, None),
        (CancellationReason.MOVED_AWAY, Outcome.MOVED_OUT_OF_AREA),
    ],
)
def test_cancellations_report_only_what_the_force_does_not_already_know(
    reason: CancellationReason, expected: Outcome | None
) -> None:
    state, reports = run([opened(), routed("twc-barrow"), cancelled(reason)])
    assert [r.outcome for r in reports] == ([expected] if expected else [])
    if expected:
        assert reports[0].closed_at == at(30)
    assert state.ended_at == at(30)


def test_a_close_after_a_withdrawal_cancellation_reports_nothing() -> None:
    _, reports = run([opened(), cancelled(CancellationReason.INTELLIGENCE_WITHDRAWN), closed()])
    assert reports == []


def test_a_close_that_overtook_its_open_is_reported_when_the_open_arrives() -> None:
    state, reports = run([closed()])
    assert reports == []
    assert state.ended_at == at(200)
    _, later = run([closed(), opened()])
    assert [r.intelligence_refs for r in later] == [["CUM/2026/000001"]]


def test_only_lifecycle_facts_police_may_get_back_are_tracked() -> None:
    accepted = ReferralAccepted(
        referral_id=REFERRAL, agency="twc-barrow", accepted_at=at(2), by="twc-1"
    )
    assert domain.tracks(closed())
    assert domain.tracks(opened())
    assert not domain.tracks(accepted)
