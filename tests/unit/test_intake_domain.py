"""intake's pure decisions: triage, matching and what each decision publishes."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from referral_schemas import (
    Indicator,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    LinkBasis,
    RiskLevel,
    load_sample,
    parse_event,
)

from services.intake import domain
from services.intake.matching import match_keys
from services.intake.triage import is_child, triage

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SECRET = b"unit-test-secret"


def _intel(**changes: object) -> IntelligenceSubmitted:
    raw = json.loads(load_sample("IntelligenceSubmitted.v1"))
    raw["data"].update(changes)
    data = parse_event(json.dumps(raw).encode()).data
    assert isinstance(data, IntelligenceSubmitted)
    return data


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
    a = _intel()
    same = _intel(subject={**a.subject.model_dump(mode="json"), "family_name": "  MARSH "})
    older = _intel(subject={**a.subject.model_dump(mode="json"), "date_of_birth": "1980-01-01"})
    key = match_keys(a.subject, a.address, SECRET)
    assert match_keys(same.subject, same.address, SECRET).person == key.person
    assert match_keys(older.subject, older.address, SECRET).person != key.person
    assert match_keys(a.subject, a.address, b"another secret").person != key.person


def test_without_a_date_of_birth_only_the_address_can_match() -> None:
    a = _intel(subject={"given_name": "Casey", "family_name": "Marsh"})
    assert match_keys(a.subject, a.address, SECRET).person is None


def test_opened_referral_is_minimised_and_triaged() -> None:
    intel = _intel()
    keys = match_keys(intel.subject, intel.address, SECRET)
    rid = uuid.uuid4()
    opened = domain.open_referral(intel, keys, referral_id=rid, now=NOW, isa_version="isa-v1")
    dumped = opened.event.model_dump_json()
    assert intel.narrative not in dumped
    assert intel.source_reference not in dumped
    assert opened.event.risk_level is RiskLevel.HIGH
    assert opened.event.postcode_district == "LA14"
    assert opened.referral.active_intelligence == ("cumbria:CUM/2025/004217",)


def test_link_raises_risk_and_unions_categories() -> None:
    intel = _intel()
    keys = match_keys(intel.subject, intel.address, SECRET)
    opened = domain.open_referral(intel, keys, referral_id=uuid.uuid4(), now=NOW, isa_version="v")
    more = _intel(intelligence_ref="CUM/2025/009999", indicators=["child_criminal_exploitation"])
    assert domain.link_basis(opened.referral, keys) is LinkBasis.SAME_PERSON_AND_ADDRESS
    linked = domain.link_to(opened.referral, more, LinkBasis.SAME_PERSON, now=NOW)
    assert linked.event.risk_level is RiskLevel.CRITICAL
    assert set(linked.event.reason_categories) == {
        Indicator.CUCKOOING,
        Indicator.DRUG_DEALING_FROM_ADDRESS,
        Indicator.CHILD_CRIMINAL_EXPLOITATION,
    }
    assert len(linked.referral.active_intelligence) == 2


def _withdrawal(ref: str) -> IntelligenceWithdrawn:
    return IntelligenceWithdrawn(
        force="cumbria", intelligence_ref=ref, reason="discredited", withdrawn_at=NOW
    )


def test_withdrawal_cancels_only_when_no_intelligence_is_left() -> None:
    intel = _intel()
    keys = match_keys(intel.subject, intel.address, SECRET)
    opened = domain.open_referral(intel, keys, referral_id=uuid.uuid4(), now=NOW, isa_version="v")
    more = _intel(intelligence_ref="CUM/2025/009999")
    linked = domain.link_to(opened.referral, more, LinkBasis.SAME_PERSON, now=NOW)
    partly = domain.withdraw(linked.referral, _withdrawal("CUM/2025/009999"), now=NOW)
    assert partly.event is None
    assert partly.referral.open
    fully = domain.withdraw(partly.referral, _withdrawal("CUM/2025/004217"), now=NOW)
    assert fully.event is not None
    assert fully.event.reason == "intelligence_withdrawn"
    assert not fully.referral.open
