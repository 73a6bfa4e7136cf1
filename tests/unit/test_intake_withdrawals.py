"""What a withdrawal of intelligence does: remembered when it comes first, a referral
recomputed from the intelligence that remains, a cancellation asked of casework (with the
reason the force's withdrawal maps to) when none remains, and nothing once it has ended."""

import pytest
from referral_schemas import (
    CancellationReason,
    CancellationRequested,
    Indicator,
    ReferralAmended,
    ReferralLinked,
    ReferralOpened,
    RiskLevel,
    VisitorSafetyMarker,
    WithdrawalReason,
)

from services.intake.state import NOTHING, IntakeStatus, ReferralState
from tests.support.intake_story import (
    decided,
    fold,
    intel,
    only_event,
    person,
    saved,
    submit,
    withdraw,
    worked_and_closed,
)
from tests.support.sealing import details_of

pytestmark = pytest.mark.unit
OPENER = "CUM/2025/004217"
SECOND = "CUM/2025/009999"


def _two_people_at_one_address() -> ReferralState:
    """The sample's cuckooed flat (critical: cuckooing and weapons, weapons at the address),
    then a runner at the same address (drug running only)."""
    first = intel(
        indicators=["cuckooing", "weapons"],
        visitor_safety=["weapons_at_address", "do_not_visit_alone"],
    )
    referral = saved(decided(submit(first)))
    runner = intel(
        intelligence_ref=SECOND,
        subject=person("Robin", "Lowe", "1999-04-04"),
        indicators=["drug_running"],
        visitor_safety=["do_not_visit_alone"],
    )
    decision = decided(submit(runner, live=referral))
    assert isinstance(only_event(decision), ReferralLinked)
    return saved(decision)


def test_withdrawing_the_opener_names_the_remaining_person_and_lowers_the_risk() -> None:
    referral = _two_people_at_one_address()
    assert referral.contents.risk_level is RiskLevel.CRITICAL
    decision = withdraw(referral, OPENER)
    amended = only_event(decision)
    assert isinstance(amended, ReferralAmended)
    assert amended.withdrawn_intelligence_ref == OPENER
    assert amended.withdrawal_reason is WithdrawalReason.DISCREDITED
    subject = details_of(amended.referral_id, amended.personal).subject
    assert (subject.given_name, subject.family_name) == ("Robin", "Lowe")
    assert amended.risk_level is RiskLevel.MEDIUM
    assert amended.reason_categories == [Indicator.DRUG_RUNNING]
    assert amended.visitor_safety == [VisitorSafetyMarker.DO_NOT_VISIT_ALONE]
    assert amended.postcode_district == "LA14"
    after = saved(decision)
    assert after.status is IntakeStatus.OPEN
    assert [p.ref for p in after.pieces] == [SECOND]
    assert decision.withdraw is not None
    assert decision.withdraw.intelligence_ref == OPENER


def test_withdrawing_the_linked_intelligence_keeps_the_subject_and_drops_its_reasons() -> None:
    referral = _two_people_at_one_address()
    amended = only_event(withdraw(referral, SECOND))
    assert isinstance(amended, ReferralAmended)
    assert details_of(amended.referral_id, amended.personal).subject.family_name == "Marsh"
    assert amended.risk_level is RiskLevel.CRITICAL
    assert Indicator.DRUG_RUNNING not in amended.reason_categories


def test_withdrawing_everything_asks_casework_to_cancel_with_the_mapped_reason() -> None:
    referral = _two_people_at_one_address()
    partly = saved(withdraw(referral, OPENER))
    decision = withdraw(partly, SECOND, "subject_moved_away")
    requested = only_event(decision)
    assert isinstance(requested, CancellationRequested)
    assert requested.reason is CancellationReason.MOVED_AWAY
    assert requested.withdrawal_reason is WithdrawalReason.SUBJECT_MOVED_AWAY
    assert requested.withdrawn_intelligence_refs == [SECOND]
    after = saved(decision)
    assert after.status is IntakeStatus.CANCELLATION_REQUESTED
    assert after.pieces == ()
    assert after.contents.subject is None, "nothing personal kept for a referral being ended"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("discredited", CancellationReason.INTELLIGENCE_WITHDRAWN),
        ("submitted_in_error", CancellationReason.INTELLIGENCE_WITHDRAWN),
        ("duplicate_submission", CancellationReason.DUPLICATE),
        ("subject_moved_away", CancellationReason.MOVED_AWAY),
    ],
)
def test_each_withdrawal_reason_maps_to_a_cancellation_reason(
    reason: str, expected: CancellationReason
) -> None:
    referral = saved(decided(submit(intel())))
    requested = only_event(withdraw(referral, OPENER, reason))
    assert isinstance(requested, CancellationRequested)
    assert requested.reason is expected


def test_intelligence_of_a_referral_being_cancelled_opens_a_new_one_naming_it() -> None:
    referral = saved(decided(submit(intel())))
    asked = saved(withdraw(referral, OPENER))
    opened = only_event(
        decided(submit(intel(intelligence_ref=SECOND), live=asked, previous=asked.referral_id))
    )
    assert isinstance(opened, ReferralOpened)
    assert opened.previous_referral_id == referral.referral_id


def test_withdrawal_after_closure_changes_nothing() -> None:
    decision = decided(submit(intel()))
    closed = fold(
        saved(decision), only_event(decision), *worked_and_closed(saved(decision).referral_id)
    )
    after = withdraw(closed, OPENER)
    assert after.events == ()
    assert after.saves == ()
    assert after.withdraw is not None, "intake still records that police withdrew it"


def test_withdrawal_before_its_submission_is_remembered() -> None:
    decision = withdraw(None, OPENER, received=False)
    assert decision.events == ()
    assert decision.remember is not None
    assert decision.remember.intelligence_ref == OPENER


def test_a_resent_withdrawal_changes_nothing() -> None:
    assert withdraw(None, OPENER, received=True) == NOTHING
