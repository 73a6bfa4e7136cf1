"""Payload models: house rules (frozen, forbid extra, described) and their own rules."""

import inspect
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError
from referral_schemas import (
    Address,
    Grading,
    IntelligenceSubmitted,
    Person,
    ReferralOpened,
    RiskLevel,
    SealedPersonal,
    access_v1,
    directory_v1,
    envelope,
    erasure_v1,
    intelligence_v1,
    lifecycle_v1,
    load_sample,
    outcomes_v1,
    parse_event,
    referral_v1,
    resolution_v1,
    sealed,
)

pytestmark = pytest.mark.contract

MODEL_MODULES: list[ModuleType] = [
    envelope,
    intelligence_v1,
    referral_v1,
    lifecycle_v1,
    outcomes_v1,
    directory_v1,
    access_v1,
    resolution_v1,
    sealed,
    erasure_v1,
]
MODELS: list[type[BaseModel]] = [
    cls
    for module in MODEL_MODULES
    for _, cls in inspect.getmembers(module, inspect.isclass)
    if issubclass(cls, BaseModel) and cls.__module__ == module.__name__
]


def test_the_model_modules_hold_the_expected_models() -> None:
    names = {model.__name__ for model in MODELS}
    assert {"Envelope", "EventData", "Grading", "Person", "Address", "ReferralSubject"} <= names
    assert {"Area", "Agency", "DirectoryPublished", "OutcomeReported", "SlaBreached"} <= names
    assert {"ReferralAmended", "CancellationRequested", "OfferExpired"} <= names
    assert {"ReferralDirected", "EscalationClosed"} <= names
    # 11 + 15 lifecycle events and their base + 3 + 1 + 1 + 2 more of intake's
    # + 3 owner decisions and 2 erasure events (on lifecycle_v1's base) + sealed details (3)
    assert {"SealedPersonal", "PersonalDetails", "ErasureRequested", "PersonalDataErased"} <= names
    assert len(MODELS) == 41


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_models_are_frozen_and_forbid_extra_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_described(model: type[BaseModel]) -> None:
    undescribed = [name for name, field in model.model_fields.items() if not field.description]
    assert undescribed == []


def _grading(**fields: Any) -> Grading:
    return Grading.model_validate(
        {"source_evaluation": "1", "intelligence_assessment": "A", **fields}
    )


def test_handling_code_c_requires_conditions() -> None:
    with pytest.raises(ValidationError) as caught:
        _grading(handling_code="C")
    assert caught.value.errors()[0]["type"] == "missing"
    graded = _grading(handling_code="C", handling_conditions="Not to be shared with the occupant")
    assert graded.handling_conditions == "Not to be shared with the occupant"


def test_handling_code_p_forbids_conditions() -> None:
    assert _grading(handling_code="P").handling_conditions is None
    with pytest.raises(ValidationError) as caught:
        _grading(handling_code="P", handling_conditions="only for safeguarding")
    assert caught.value.errors()[0]["type"] == "conditions_not_allowed"


@pytest.mark.parametrize(
    ("born", "error"),
    [(date(1899, 12, 31), "date_too_early"), (date(1900, 1, 1), None), (None, None)],
)
def test_person_born_not_before_1900(born: date | None, error: str | None) -> None:
    fields = {"given_name": "Casey", "family_name": "Marsh", "date_of_birth": born}
    if error is None:
        assert Person.model_validate(fields).date_of_birth == born
    else:
        with pytest.raises(ValidationError) as caught:
            Person.model_validate(fields)
        assert caught.value.errors()[0]["type"] == error


def test_person_has_at_most_ten_aliases() -> None:
    fields = {"given_name": "Casey", "family_name": "Marsh"}
    assert len(Person.model_validate({**fields, "aliases": ["C"] * 10}).aliases) == 10
    with pytest.raises(ValidationError):
        Person.model_validate({**fields, "aliases": ["C"] * 11})


@pytest.mark.parametrize(
    ("recorded", "accepted"),
    [
        (datetime(1987, 11, 23, 0, 0, tzinfo=UTC), True),
        (datetime(1987, 11, 22, 23, 59, tzinfo=UTC), False),
    ],
)
def test_date_of_birth_not_after_the_recording_day(recorded: datetime, accepted: bool) -> None:
    data = parse_event(load_sample("IntelligenceSubmitted.v1")).data
    assert isinstance(data, IntelligenceSubmitted)
    fields = {**data.model_dump(), "recorded_at": recorded}
    if accepted:
        assert IntelligenceSubmitted.model_validate(fields).recorded_at == recorded
    else:
        with pytest.raises(ValidationError) as caught:
            IntelligenceSubmitted.model_validate(fields)
        assert caught.value.errors()[0]["type"] == "date_in_future"


def test_address_postcode_is_normalised() -> None:
    address = Address(
        line1="27 Harbour View Terrace", town="Barrow-in-Furness", postcode="la14 9zz"
    )
    assert address.postcode == "LA14 9ZZ"


def test_risk_levels_rank_from_low_to_critical() -> None:
    levels = [RiskLevel.CRITICAL, RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.MEDIUM]
    ordered = sorted(levels, key=lambda level: level.rank)
    assert ordered == [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL]
    assert [level.rank for level in ordered] == [0, 1, 2, 3]
    assert max(RiskLevel.HIGH, RiskLevel.MEDIUM, key=lambda level: level.rank) is RiskLevel.HIGH


def test_a_sealed_value_must_be_base64_of_the_right_lengths() -> None:
    data = parse_event(load_sample("ReferralOpened.v2")).data
    assert isinstance(data, ReferralOpened)
    sealed = data.personal.model_dump()
    for field, bad, code in (
        ("nonce", "not base64!", "not_base64"),
        ("nonce", "AAAA", "wrong_length"),
        ("ciphertext", "", "wrong_length"),
        ("algorithm", "ROT13", "string_pattern_mismatch"),
    ):
        with pytest.raises(ValidationError) as caught:
            SealedPersonal.model_validate({**sealed, field: bad})
        assert caught.value.errors()[0]["type"] == code


def test_referral_visitor_safety_has_no_duplicates() -> None:
    data = parse_event(load_sample("ReferralOpened.v2")).data
    fields = {**data.model_dump(), "visitor_safety": ["needles_at_address"] * 2}
    with pytest.raises(ValidationError) as caught:
        ReferralOpened.model_validate(fields)
    assert caught.value.errors()[0]["type"] == "duplicate_items"


def test_referral_id_is_a_uuid() -> None:
    data = parse_event(load_sample("ReferralOpened.v2")).data
    assert isinstance(data, ReferralOpened)
    assert data.referral_id == UUID("c232a737-31b7-496e-a7d2-f23db97a6c6a")
