"""intake's pure decisions: triage, matching, what a submission publishes, and how intake
follows a referral's lifecycle (an ended referral takes no new intelligence)."""

from datetime import date

import pytest
from referral_schemas import (
    CancellationReason,
    Indicator,
    LinkBasis,
    ReferralCancelled,
    ReferralLinked,
    ReferralOpened,
    RiskLevel,
)
from referral_schemas.lifecycle import Refusal

from services.intake import domain
from services.intake.matching import match_keys
from services.intake.state import NOTHING, IntakeStatus, LateLink, Matches
from services.intake.triage import is_child, triage
from tests.support.intake_story import (
    NOW,
    SECRET,
    decided,
    fold,
    fresh,
    intel,
    only_event,
    person,
    saved,
    submit,
    worked_and_closed,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("indicators", "child", "expected"),
    [
        ([Indicator.DRUG_RUNNING], False, RiskLevel.MEDIUM),
        ([Indicator.DRUG_RUNNING], True, RiskLevel.CRITICAL),
        ([Indicator.CUCKOOING], False, RiskLevel.HIGH),
        ([Indicator.CUCKOOING, Indicator.WEAPONS], False, RiskLevel.CRITICAL),
        ([Indicator.CHILD_CRIMINAL_EXPLOITATION], False, RiskLevel.CRITICAL),
        ([Indicator.WEAPONS], False, RiskLevel.LOW),
    ],
)
def test_triage_puts_children_and_cuckooing_first(
    indicators: list[Indicator], child: bool, expected: RiskLevel
) -> None:
    assert triage(indicators, child) is expected


def test_child_means_under_eighteen_on_the_day() -> None:
    assert is_child(date(2008, 11, 29), date(2026, 11, 28))
    assert not is_child(date(2008, 11, 28), date(2026, 11, 28))
    assert not is_child(None, date(2026, 11, 28))


def test_matching_ignores_case_spacing_and_accents_but_not_date_of_birth() -> None:
    a = intel()
    same = intel(subject={**a.subject.model_dump(mode="json"), "family_name": "  MARSH "})
    older = intel(subject={**a.subject.model_dump(mode="json"), "date_of_birth": "1980-01-01"})
    key = match_keys(a.subject, a.address, SECRET)
    assert match_keys(same.subject, same.address, SECRET).person == key.person
    assert match_keys(older.subject, older.address, SECRET).person != key.person
    assert match_keys(a.subject, a.address, b"another secret").person != key.person


def test_without_a_date_of_birth_only_the_address_can_match() -> None:
    a = intel(subject={"given_name": "Casey", "family_name": "Marsh"})
    assert match_keys(a.subject, a.address, SECRET).person is None


def test_opened_referral_is_minimised_and_triaged() -> None:
    submitted = intel()
    opened = only_event(decided(submit(submitted)))
    assert isinstance(opened, ReferralOpened)
    dumped = opened.model_dump_json()
    assert submitted.narrative not in dumped
    assert submitted.source_reference not in dumped
    assert opened.risk_level is RiskLevel.HIGH
    assert opened.postcode_district == "LA14"
    assert opened.previous_referral_id is None
    assert "previous_referral_id" not in dumped, "absent, so v1 readers see what they knew"


def test_link_raises_risk_and_unions_categories() -> None:
    referral = saved(decided(submit(intel())))
    more = intel(intelligence_ref="CUM/2025/009999", indicators=["child_criminal_exploitation"])
    decision = decided(submit(more, live=referral))
    linked = only_event(decision)
    assert isinstance(linked, ReferralLinked)
    assert linked.referral_id == referral.referral_id
    assert linked.link_basis is LinkBasis.SAME_PERSON_AND_ADDRESS
    assert linked.risk_level is RiskLevel.CRITICAL
    assert set(linked.reason_categories) == {
        Indicator.CUCKOOING,
        Indicator.DRUG_DEALING_FROM_ADDRESS,
        Indicator.CHILD_CRIMINAL_EXPLOITATION,
    }
    assert len(saved(decision).pieces) == 2


def test_a_child_at_the_same_address_is_another_person_and_does_not_make_it_critical() -> None:
    referral = saved(decided(submit(intel(indicators=["drug_running"]))))
    child = intel(
        intelligence_ref="CUM/2025/009998",
        subject=person("Robin", "Other", "2015-05-05"),
        indicators=["drug_running"],
    )
    linked = only_event(decided(submit(child, live=referral)))
    assert isinstance(linked, ReferralLinked)
    assert linked.link_basis is LinkBasis.SAME_ADDRESS
    assert linked.risk_level is RiskLevel.MEDIUM


def test_resent_intelligence_changes_nothing() -> None:
    assert submit(intel(), already_received=True) == NOTHING


def test_closure_folded_from_the_log_ends_the_referral_and_forgets_who_it_was_about() -> None:
    decision = decided(submit(intel()))
    referral, opened = saved(decision), only_event(decision)
    closed = fold(referral, opened, *worked_and_closed(referral.referral_id))
    assert closed.status is IntakeStatus.CLOSED
    assert closed.ended_at is not None
    assert closed.contents.subject is None
    assert all(p.subject is None and p.address is None for p in closed.pieces)
    # Terminal is final: a cancellation landing afterwards has no effect.
    late = ReferralCancelled(
        referral_id=referral.referral_id,
        reason=CancellationReason.INTELLIGENCE_WITHDRAWN,
        cancelled_at=NOW,
    )
    refused = domain.evolve(closed, late)
    assert isinstance(refused, Refusal)
    assert refused.code == "referral_closed"


def test_new_intelligence_after_closure_opens_a_new_referral_naming_the_closed_one() -> None:
    decision = decided(submit(intel()))
    referral, opened = saved(decision), only_event(decision)
    closed = fold(referral, opened, *worked_and_closed(referral.referral_id))
    more = intel(intelligence_ref="CUM/2025/009999", indicators=["debt_bondage"])
    # Even offered the closed referral as a match, intake does not link to it.
    reopened = only_event(decided(submit(more, live=closed, previous=closed.referral_id)))
    assert isinstance(reopened, ReferralOpened)
    assert reopened.referral_id != referral.referral_id
    assert reopened.previous_referral_id == referral.referral_id
    assert reopened.reason_categories == [Indicator.DEBT_BONDAGE]


def test_a_link_that_lands_after_the_closure_opens_a_new_referral_for_that_intelligence() -> None:
    decision = decided(submit(intel()))
    referral, opened = saved(decision), only_event(decision)
    more = intel(intelligence_ref="CUM/2025/009999", indicators=["debt_bondage"])
    link_decision = decided(submit(more, live=referral))
    with_link, link = saved(link_decision), only_event(link_decision)
    assert isinstance(link, ReferralLinked)
    # On the log the closure comes first; the link lands after it.
    closed = fold(with_link, opened, *worked_and_closed(referral.referral_id))
    assert closed.status is IntakeStatus.CLOSED
    unlanded = closed.piece(("cumbria", "CUM/2025/009999"))
    assert unlanded is not None
    assert unlanded.subject is not None, "kept: its link has not landed yet"
    refused = domain.evolve(closed, link)
    assert isinstance(refused, Refusal)
    assert refused.code == "referral_closed"
    late = decided(domain.decide(LateLink(link, closed, Matches(None, None)), fresh()))
    reopened = only_event(late)
    assert isinstance(reopened, ReferralOpened)
    assert reopened.intelligence_ref == "CUM/2025/009999"
    assert reopened.previous_referral_id == referral.referral_id
    assert reopened.reason_categories == [Indicator.DEBT_BONDAGE]
    new, left = late.saves
    assert new.referral_id == reopened.referral_id
    assert left.referral_id == referral.referral_id
    assert left.piece(("cumbria", "CUM/2025/009999")) is None


def test_a_late_link_joins_a_live_referral_opened_meanwhile() -> None:
    decision = decided(submit(intel()))
    referral, opened = saved(decision), only_event(decision)
    link_decision = decided(submit(intel(intelligence_ref="CUM/2025/009999"), live=referral))
    link = only_event(link_decision)
    assert isinstance(link, ReferralLinked)
    closed = fold(saved(link_decision), opened, *worked_and_closed(referral.referral_id))
    meanwhile = saved(
        decided(submit(intel(intelligence_ref="CUM/2025/009997"), previous=referral.referral_id))
    )
    late = decided(domain.decide(LateLink(link, closed, Matches(meanwhile, None)), fresh()))
    joined = only_event(late)
    assert isinstance(joined, ReferralLinked)
    assert joined.referral_id == meanwhile.referral_id


def test_a_link_refused_for_another_reason_changes_nothing() -> None:
    decision = decided(submit(intel()))
    referral, opened = saved(decision), only_event(decision)
    link_decision = decided(submit(intel(intelligence_ref="CUM/2025/009999"), live=referral))
    link = only_event(link_decision)
    assert isinstance(link, ReferralLinked)
    open_one = fold(saved(link_decision), opened)
    assert domain.decide(LateLink(link, open_one, Matches(None, None)), fresh()) == NOTHING


def test_submission_withdrawn_before_it_came_is_refused_with_its_own_reason() -> None:
    refused = submit(intel(), withdrawn_before=True)
    assert isinstance(refused, Refusal)
    assert refused.code == "withdrawn_before_submission"
