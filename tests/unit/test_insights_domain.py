"""insights' fold: what a referral's facts become after each event, the engagement verdict,
county-line spelling, and which directory version is in force."""

import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from referral_schemas import CancellationReason, ContactResult, EngagementLevel, Outcome
from referral_schemas.lifecycle import Refusal

from services.insights import domain
from services.insights.domain import ReferralFacts, engagement_verdict
from tests.support.insights_events import (
    Message,
    accepted,
    at,
    cancelled,
    closed,
    completed,
    contact,
    data_of,
    directory,
    engagement,
    intelligence,
    opened,
    routed,
    visit,
)
from tests.support.referral_log import ReferralLog

pytestmark = pytest.mark.unit
T0 = at("2024-01-05 10:00")
H = timedelta(hours=1)


def fold(rid: uuid.UUID, messages: Sequence[Message]) -> ReferralFacts:
    facts = ReferralFacts(rid)
    for message in messages:
        facts = domain.decide(facts, data_of(message), event_id=uuid.uuid4()).facts
    return facts


def working(rid: uuid.UUID, area: str = "barrow") -> list[Message]:
    """Opened at T0, routed to ``area`` and accepted: the agency may work it."""
    return [opened(rid, T0), routed(rid, area, T0), accepted(rid, T0)]


def test_opening_and_routing_give_the_referral_its_date_district_and_area() -> None:
    rid = uuid.uuid4()
    facts = fold(rid, [opened(rid, T0, district="LA13"), routed(rid, "barrow", T0 + H)])
    assert (facts.opened_at, facts.district, facts.area, facts.force) == (
        T0,
        "LA13",
        "barrow",
        "cumbria",
    )


def test_first_contact_is_the_first_spoken_contact_or_completed_visit_recorded() -> None:
    # The shared definition: unanswered attempts are no contact; once set it never changes
    # (a contact recorded later with an earlier time does not move it).
    rid = uuid.uuid4()
    facts = fold(
        rid,
        [
            *working(rid),
            contact(rid, T0 + 1 * H, ContactResult.NO_ANSWER),
            contact(rid, T0 + 2 * H, ContactResult.LEFT_MESSAGE),
            visit(rid, T0 + 9 * H),
            contact(rid, T0 + 5 * H, ContactResult.SPOKE_TO_PERSON),  # recorded late
            contact(rid, T0 + 12 * H, ContactResult.SPOKE_TO_PERSON),
        ],
    )
    assert facts.first_contact_at == T0 + 9 * H


def test_unanswered_attempts_are_no_first_contact() -> None:
    rid = uuid.uuid4()
    facts = fold(rid, [*working(rid), contact(rid, T0 + H, ContactResult.WRONG_NUMBER)])
    assert facts.first_contact_at is None


def test_a_completed_visit_is_recorded_as_a_visit_to_count() -> None:
    rid = uuid.uuid4()
    event_id = uuid.uuid4()
    facts = fold(rid, working(rid))
    change = domain.decide(facts, data_of(visit(rid, T0)), event_id=event_id)
    assert change.visit == domain.Visit(event_id, rid, T0)
    assert (
        domain.decide(ReferralFacts(rid), data_of(opened(rid, T0)), event_id=event_id).visit is None
    )


def test_work_the_lifecycle_refuses_is_not_counted() -> None:
    # A visit before acceptance, or while the police hold the referral, had no effect.
    rid = uuid.uuid4()
    offered = fold(rid, [opened(rid, T0), routed(rid, "barrow", T0)])
    early = domain.decide(offered, data_of(visit(rid, T0 + H)), event_id=uuid.uuid4())
    assert (early.visit, early.facts, early.refusal) == (
        None,
        offered,
        Refusal("wrong_status", "VisitCompleted has no effect while awaiting_acceptance"),
    )
    held = domain.evolve(fold(rid, working(rid)), ReferralLog(rid, T0).held(hours=1))
    assert isinstance(held, ReferralFacts)
    refused = domain.decide(held, data_of(visit(rid, T0 + 2 * H)), event_id=uuid.uuid4())
    assert (refused.visit, refused.refusal and refused.refusal.code) == (None, "referral_held")
    assert refused.facts.first_contact_at is None


def test_the_latest_engagement_by_recorded_time_is_kept() -> None:
    rid = uuid.uuid4()
    facts = fold(
        rid,
        [
            *working(rid),
            engagement(rid, T0 + 2 * H, EngagementLevel.ENGAGED),
            engagement(rid, T0 + 1 * H, EngagementLevel.DECLINED_SUPPORT),  # older, arrives late
        ],
    )
    assert (facts.engagement, facts.engaged) == (EngagementLevel.ENGAGED, True)


def test_the_outcome_is_the_close_s_and_counts_when_the_referral_closed() -> None:
    rid = uuid.uuid4()
    completion = fold(rid, [*working(rid), completed(rid, T0 + 1 * H, Outcome.SIGNPOSTED)])
    assert (completion.outcome, completion.outcome_at) == (Outcome.SIGNPOSTED, None)
    facts = fold(
        rid,
        [
            *working(rid),
            completed(rid, T0 + 1 * H, Outcome.SIGNPOSTED),
            closed(rid, T0 + 30 * H, Outcome.ENGAGED_WITH_SUPPORT),
        ],
    )
    assert (facts.outcome, facts.outcome_at) == (Outcome.ENGAGED_WITH_SUPPORT, T0 + 30 * H)
    assert facts.cancelled_at is None


def test_cancellation_is_no_outcome() -> None:
    rid = uuid.uuid4()
    facts = fold(rid, [opened(rid, T0), cancelled(rid, T0 + H)])
    assert (facts.outcome_at, facts.cancelled_at, facts.engaged) == (None, T0 + H, None)


def test_a_referral_completed_then_cancelled_counts_as_cancelled_only() -> None:
    rid = uuid.uuid4()
    work = [*working(rid), completed(rid, T0 + H, Outcome.SIGNPOSTED)]
    facts = fold(
        rid, [*work, cancelled(rid, T0 + 2 * H), closed(rid, T0 + 3 * H, Outcome.SIGNPOSTED)]
    )
    assert (facts.outcome_at, facts.cancelled_at) == (None, T0 + 2 * H)


def test_a_late_routing_does_not_resurrect_a_cancelled_referral() -> None:
    # Defect 1: Opened > Routed > Cancelled(moved_away) > Routed(late) > Accepted > Closed.
    rid = uuid.uuid4()
    late = [routed(rid, "kendal", T0 + 2 * H), accepted(rid, T0 + 3 * H)]
    ended = [
        completed(rid, T0 + 4 * H, Outcome.SIGNPOSTED),
        closed(rid, T0 + 5 * H, Outcome.SIGNPOSTED),
    ]
    moved = cancelled(rid, T0 + H, CancellationReason.MOVED_AWAY)
    facts = fold(rid, [opened(rid, T0), routed(rid, "barrow", T0), moved, *late, *ended])
    assert (facts.area, facts.cancelled_at, facts.outcome_at) == ("barrow", T0 + H, None)


def test_an_escalation_closed_by_the_coordinator_counts_as_its_outcome() -> None:
    rid = uuid.uuid4()
    log = ReferralLog(rid, T0)
    events = [log.opened(), log.escalated(area="kendal", hours=1), log.escalation_closed(hours=3)]
    facts = ReferralFacts(rid)
    for event in events:
        facts = domain.decide(facts, event, event_id=uuid.uuid4()).facts
    assert (facts.area, facts.outcome, facts.outcome_at) == (
        "kendal",
        Outcome.SAFEGUARDING_ESCALATED,
        T0 + 3 * H,
    )


def test_an_amendment_does_not_move_the_referral_between_areas() -> None:
    rid = uuid.uuid4()
    log = ReferralLog(rid, T0)
    facts = ReferralFacts(rid)
    for event in [log.opened("LA14"), log.linked("CUM/2026/000002"), log.amended(log.ref, "CA1")]:
        facts = domain.decide(facts, event, event_id=uuid.uuid4()).facts
    assert (facts.district, facts.area) == ("LA14", None)
    assert facts.lifecycle is not None
    assert facts.lifecycle.district == "CA1"  # the lifecycle follows; the figures do not


def test_who_worked_the_referral_is_not_kept() -> None:
    rid = uuid.uuid4()
    facts = fold(rid, working(rid))
    assigned = domain.evolve(facts, ReferralLog(rid, T0).assigned(worker="w-77"))
    assert isinstance(assigned, ReferralFacts)
    assert "w-77" not in repr(assigned)


@pytest.mark.parametrize(
    ("outcome", "level", "verdict"),
    [
        (None, None, None),
        (None, EngagementLevel.ENGAGED, True),
        (None, EngagementLevel.PARTIALLY_ENGAGED, False),
        (None, EngagementLevel.DECLINED_SUPPORT, False),
        (Outcome.ENGAGED_WITH_SUPPORT, None, True),
        (Outcome.ENGAGED_WITH_SUPPORT, EngagementLevel.DECLINED_SUPPORT, True),
        (Outcome.SIGNPOSTED, EngagementLevel.ENGAGED, False),
        (Outcome.NO_CONTACT_AFTER_ATTEMPTS, None, False),
    ],
)
def test_engagement_verdict_outcome_decides_else_latest_level(
    outcome: Outcome | None, level: EngagementLevel | None, verdict: bool | None
) -> None:
    assert engagement_verdict(outcome, level) is verdict


def test_replaying_the_same_events_gives_the_same_facts() -> None:
    rid = uuid.uuid4()
    story = [
        *working(rid, "kendal"),
        visit(rid, T0 + 3 * H),
        engagement(rid, T0 + 4 * H, EngagementLevel.PARTIALLY_ENGAGED),
        completed(rid, T0 + 50 * H, Outcome.DECLINED_SUPPORT),
    ]
    assert fold(rid, story) == fold(rid, story)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("DANNY", "DANNY"),
        (" danny ", "DANNY"),
        ("Big  Tee", "BIG TEE"),
        ("   ", None),
        (None, None),
    ],
)
def test_county_line_names_are_compared_in_one_spelling(
    given: str | None, kept: str | None
) -> None:
    assert domain.normalise_county_line(given) == kept


def test_intelligence_keeps_district_line_and_time_and_nothing_personal() -> None:
    message = intelligence("QA1", "danny", T0)
    fact = domain.intelligence_fact(data_of(message))
    assert (fact.district, fact.county_line, fact.recorded_at) == ("QA1", "DANNY", T0)
    kept = repr(fact)
    subject = data_of(message).subject
    for personal in (subject.given_name, subject.family_name, data_of(message).address.line1):
        assert personal not in kept


def test_only_a_higher_directory_version_supersedes() -> None:
    view = domain.directory_view(data_of(directory(4, {"t-a": ["QA1", "QA2"]})))
    assert view.areas[0].districts == ("QA1", "QA2")
    assert domain.supersedes(4, 0)
    assert domain.supersedes(5, 4)
    assert not domain.supersedes(4, 4)
    assert not domain.supersedes(3, 4)


def test_the_directory_view_keeps_which_areas_each_agency_serves() -> None:
    """Agency staff read the figures of these areas (services/insights/api/scope.py)."""
    view = domain.directory_view(data_of(directory(4, {"t-a": ["QA1"], "t-b": ["QB1"]})))
    assert view.agencies == (domain.AgencyView("twc-barrow", ("t-a", "t-b")),)
