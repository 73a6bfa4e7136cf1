"""feedback's pure decisions: what the police get back about a referral, and when, with the
referral's lifecycle folded by the shared model in log order."""

import json
from collections.abc import Iterable
from datetime import datetime

import pytest
from referral_schemas import (
    CancellationReason,
    ContactResult,
    EscalationReason,
    EventData,
    Outcome,
    OutcomeReported,
)
from referral_schemas.lifecycle_rules import ReferralStatus

from services.feedback import domain
from services.feedback.domain import FeedbackState
from tests.support.referral_log import AGENCY, OTHER_AGENCY, T0, ReferralLog

pytestmark = pytest.mark.unit
LOG = ReferralLog()
at = LOG.at


def run(
    events: Iterable[EventData], state: FeedbackState | None = None
) -> tuple[FeedbackState, list[OutcomeReported]]:
    state = state or FeedbackState(LOG.referral_id)
    reports = []
    for n, event in enumerate(events):
        decision = domain.decide(state, event, now=at(300 + n))
        state = decision.state
        if decision.report is not None:
            reports.append(decision.report)
    return state, reports


def test_a_closed_referral_reports_refs_outcome_dates_and_agency_only() -> None:
    opened, routed, accepted, contact, completed, closed = LOG.worked_to_a_close()
    events = [opened, LOG.linked("CUM/2026/000002"), routed, accepted, contact, completed, closed]
    _, reports = run(events)
    assert len(reports) == 1
    report = reports[0]
    assert report.referral_id == LOG.referral_id
    assert report.force == "cumbria"
    assert report.intelligence_refs == ["CUM/2026/000001", "CUM/2026/000002"]
    assert report.outcome is Outcome.ENGAGED_WITH_SUPPORT
    assert report.agency == AGENCY
    assert (report.opened_at, report.first_contact_at, report.closed_at) == (T0, at(5), at(200))
    assert report.reported_at == at(306)
    text = json.dumps(report.model_dump(mode="json"))
    for personal in ("Casey", "Marsh", "1987-11-23", "Harbour", "LA14", "+44", "w-2", "lead-1"):
        assert personal not in text


def test_nothing_is_reported_before_the_referral_ends() -> None:
    state, reports = run([LOG.opened(), LOG.routed(), LOG.accepted(), LOG.contact()])
    assert reports == []
    assert state.reported_at is None
    assert state.lifecycle is not None
    assert state.lifecycle.status is ReferralStatus.ACCEPTED


def test_a_second_close_has_no_effect_and_reports_nothing_new() -> None:
    state, reports = run(LOG.worked_to_a_close())
    assert [r.outcome for r in reports] == [Outcome.ENGAGED_WITH_SUPPORT]
    again = domain.decide(state, LOG.closed(Outcome.SIGNPOSTED), now=at(400))
    assert again.report is None
    assert again.state == state
    assert again.refusal is not None
    assert again.refusal.code == "referral_closed"


def test_first_contact_is_speaking_to_the_person_or_a_visit_whichever_came_first() -> None:
    work = [
        LOG.contact(ContactResult.NO_ANSWER, hours=1),
        LOG.contact(ContactResult.LEFT_MESSAGE, hours=2),
        LOG.visited(hours=4),
        LOG.contact(hours=6),
    ]
    _, reports = run(
        [LOG.opened(), LOG.routed(), LOG.accepted(), *work, LOG.completed(), LOG.closed()]
    )
    assert reports[0].first_contact_at == at(4)


def test_first_contact_is_none_when_nobody_was_reached() -> None:
    no_answer = LOG.contact(ContactResult.NO_ANSWER, hours=2)
    events = [LOG.opened(), LOG.routed(), LOG.accepted(), no_answer]
    ended = [
        LOG.completed(Outcome.NO_CONTACT_AFTER_ATTEMPTS),
        LOG.closed(Outcome.NO_CONTACT_AFTER_ATTEMPTS),
    ]
    _, reports = run([*events, *ended])
    assert reports[0].first_contact_at is None
    assert reports[0].outcome is Outcome.NO_CONTACT_AFTER_ATTEMPTS


def test_another_forces_linked_intelligence_is_not_reported_to_this_force() -> None:
    links = [
        LOG.linked("LAN/2026/9", force="lancashire"),
        LOG.linked("CUM/2026/3"),
        LOG.linked("CUM/2026/3"),
    ]
    _, reports = run([LOG.opened(), *links, *LOG.worked_to_a_close()[1:]])
    assert reports[0].intelligence_refs == ["CUM/2026/000001", "CUM/2026/3"]


def test_withdrawn_intelligence_is_still_named_to_the_force_that_raised_it() -> None:
    # The first reference was withdrawn (ReferralAmended) while the second carried the work.
    events = [LOG.opened(), LOG.linked("CUM/2026/000002"), LOG.amended(LOG.ref)]
    state, reports = run([*events, *LOG.worked_to_a_close()[1:]])
    assert state.lifecycle is not None
    assert state.lifecycle.intelligence == (("cumbria", "CUM/2026/000002"),)
    assert reports[0].intelligence_refs == ["CUM/2026/000001", "CUM/2026/000002"]


def test_the_agency_is_the_last_one_that_held_the_referral() -> None:
    events = [
        LOG.opened(),
        LOG.routed(AGENCY),
        LOG.declined(AGENCY, hours=2),
        LOG.rerouted(AGENCY, OTHER_AGENCY),
        LOG.declined(OTHER_AGENCY, hours=13),
        LOG.escalated(hours=20),
    ]
    _, reports = run([*events, LOG.cancelled(CancellationReason.MOVED_AWAY)])
    assert reports[0].agency == OTHER_AGENCY


def test_an_escalation_the_coordinator_closes_is_reported_without_an_agency() -> None:
    no_cover = LOG.escalated(EscalationReason.NO_AGENCY_COVERS_AREA, area=None, hours=0.1)
    _, reports = run(
        [LOG.opened(), no_cover, LOG.escalation_closed(Outcome.SAFEGUARDING_ESCALATED)]
    )
    assert [(r.outcome, r.agency, r.closed_at) for r in reports] == [
        (Outcome.SAFEGUARDING_ESCALATED, None, at(24))
    ]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CancellationReason.INTELLIGENCE_WITHDRAWN, Outcome.INTELLIGENCE_WITHDRAWN),
        (CancellationReason.DUPLICATE, Outcome.INTELLIGENCE_WITHDRAWN),
        (CancellationReason.NO_LONGER_REQUIRED, Outcome.INTELLIGENCE_WITHDRAWN),
        (CancellationReason.MOVED_AWAY, Outcome.MOVED_OUT_OF_AREA),
    ],
)
def test_a_cancelled_referral_that_reached_an_agency_is_reported_once(
    reason: CancellationReason, expected: Outcome
) -> None:
    state, reports = run([LOG.opened(), LOG.routed(), LOG.cancelled(reason)])
    assert [(r.outcome, r.closed_at, r.agency) for r in reports] == [(expected, at(30), AGENCY)]
    assert state.reported_at == at(302)


def test_a_referral_cancelled_before_it_reached_anyone_is_not_reported() -> None:
    state, reports = run([LOG.opened(), LOG.cancelled(CancellationReason.MOVED_AWAY)])
    assert reports == []
    assert state.lifecycle is not None
    assert state.lifecycle.status is ReferralStatus.CANCELLED


def test_a_referral_worked_and_then_withdrawn_reports_intelligence_withdrawn_once() -> None:
    # Defect 10: a referral worked and then withdrawn used to report nothing.
    worked = [LOG.opened(), LOG.routed(), LOG.accepted(), LOG.contact(hours=5)]
    proposal = LOG.cancellation_requested(hours=29)
    cancelled = LOG.cancelled(CancellationReason.INTELLIGENCE_WITHDRAWN)
    _, reports = run([*worked, proposal, cancelled, LOG.completed(), LOG.closed()])
    assert [(r.outcome, r.first_contact_at) for r in reports] == [
        (Outcome.INTELLIGENCE_WITHDRAWN, at(5))
    ]


def test_a_proposal_to_cancel_changes_nothing() -> None:
    state, _ = run([LOG.opened(), LOG.routed()])
    decision = domain.decide(
        state, LOG.cancellation_requested(CancellationReason.MOVED_AWAY), now=at(9)
    )
    assert decision.report is None
    assert decision.refusal is None
    assert decision.state == state


def test_a_late_routing_cannot_resurrect_a_cancelled_referral_into_a_second_report() -> None:
    # Defect 1: routing decided on ReferralOpened; its ReferralRouted landed after casework
    # cancelled the referral (the person moved away). Accept and close have no effect.
    events = [
        LOG.opened(),
        LOG.routed(AGENCY),
        LOG.cancelled(CancellationReason.MOVED_AWAY, hours=1),
        LOG.routed(OTHER_AGENCY, hours=2),
        LOG.accepted(OTHER_AGENCY, hours=3),
        *LOG.worked_to_a_close(OTHER_AGENCY)[3:],
    ]
    state, reports = run(events)
    assert [(r.outcome, r.agency) for r in reports] == [(Outcome.MOVED_OUT_OF_AREA, AGENCY)]
    assert state.lifecycle is not None
    assert state.lifecycle.status is ReferralStatus.CANCELLED


def test_events_before_the_referral_was_opened_have_no_effect() -> None:
    # The log's order is the arbiter: a close ahead of its open closes nothing.
    state, reports = run([LOG.closed(), LOG.opened()])
    assert reports == []
    assert state.lifecycle is not None
    assert state.lifecycle.status is ReferralStatus.OPENED


def test_who_worked_the_referral_is_not_kept() -> None:
    state, _ = run([LOG.opened(), LOG.routed(), LOG.accepted(), LOG.assigned(worker="w-77")])
    assert state.lifecycle is not None
    assert state.lifecycle.assigned_to is None
    assert "w-77" not in repr(state)


def test_every_referral_event_is_folded_and_nothing_else() -> None:
    assert domain.tracks(LOG.closed())
    assert domain.tracks(LOG.accepted())
    assert domain.tracks(LOG.cancellation_requested())
    assert not domain.tracks(OutcomeReported.model_validate(_sample_report()))


def _sample_report() -> dict[str, object]:
    return {
        "referral_id": LOG.referral_id,
        "force": "cumbria",
        "intelligence_refs": [LOG.ref],
        "outcome": "signposted",
        "agency": None,
        "opened_at": T0,
        "first_contact_at": None,
        "closed_at": T0,
        "reported_at": datetime(2026, 4, 1, tzinfo=T0.tzinfo),
    }
