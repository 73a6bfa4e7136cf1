"""Feedback and access events carry no personal data; lifecycle events carry no free text."""

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from referral_schemas import (
    EVENT_MODELS,
    EventData,
    OutcomeReported,
    PersonalDetails,
    ReferralAmended,
    ReferralConsulted,
    ReferralOpened,
    envelope_model,
    lifecycle_v1,
)
from referral_schemas.text import SHORT_TEXT_MAX
from referral_schemas.topics import DIRECTORY, POLICE_INTELLIGENCE

pytestmark = pytest.mark.contract

# Substrings of a property name that mean personal data (name covers given_name, family_name).
PERSONAL = ("name", "birth", "address", "phone", "narrative", "postcode", "alias", "line1")
PERSONAL_MODELS = ("Person", "Address", "ReferralSubject")
LIFECYCLE_MODELS = [
    model for model in EVENT_MODELS.values() if model.__module__ == lifecycle_v1.__name__
]
CASEWORK = {
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralAssigned",
    "ContactAttempted",
    "VisitAttempted",
    "VisitCompleted",
    "EngagementRecorded",
    "ReferralHeld",
    "ReferralResumed",
    "ReferralCompleted",
    "ReferralClosed",
}
# Text fields that hold an identifier, not prose: user ids and the ISA version label.
IDENTIFIER_TEXT = {"by", "worker", "isa_version"}
SCHEMA_MODES = ("validation", "serialization")


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-schema object at every depth (including $defs)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for node in _objects(schema):
        properties = node.get("properties")
        if isinstance(properties, dict):
            yield from properties.items()


def _personal_fields(model: type[BaseModel], mode: str) -> set[str]:
    schema = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    found = {name for name, _ in _properties(schema) if any(p in name for p in PERSONAL)}
    titles = {str(node.get("title")) for node in _objects(schema)}
    return found | (titles & set(PERSONAL_MODELS))


@pytest.mark.parametrize("model", [OutcomeReported, ReferralConsulted], ids=lambda m: m.__name__)
@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_feedback_and_access_carry_no_personal_field(model: type[EventData], mode: str) -> None:
    assert _personal_fields(model, mode) == set()
    assert _personal_fields(envelope_model(model), mode) == set()
    assert "subject" not in model.model_fields


HUB_EVENTS = [
    model
    for model in EVENT_MODELS.values()
    # the force's own record, and the directory (agencies' names and districts, no person)
    if model.TOPIC not in (POLICE_INTELLIGENCE, DIRECTORY)
]
IN_CLEAR = {"postcode_district"}
"""The address's outward code (e.g. LA14, thousands of households) travels in clear:
routing needs it. Everything else about the person travels sealed (docs/privacy.md)."""


@pytest.mark.parametrize("model", HUB_EVENTS, ids=lambda m: f"{m.EVENT_TYPE}.v{m.SCHEMA_VERSION}")
@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_no_hub_event_carries_personal_data_in_clear(model: type[EventData], mode: str) -> None:
    assert _personal_fields(envelope_model(model), mode) - IN_CLEAR == set()


def test_the_personal_check_would_catch_the_sealed_details() -> None:
    found = _personal_fields(PersonalDetails, "validation")
    assert {"given_name", "family_name", "date_of_birth", "phone", "address"} <= found
    assert {"ReferralSubject", "Address"} <= found
    assert "personal" in ReferralOpened.model_fields
    assert "personal" in ReferralAmended.model_fields


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    definition: dict[str, Any] = schema["$defs"][ref.rsplit("/", 1)[-1]]
    return definition


def _is_free_text(schema: dict[str, Any], name: str, prop: dict[str, Any]) -> bool:
    """Whether a property could hold prose: text that is no enum, id, code or timestamp."""
    if "anyOf" in prop:
        options = [option for option in prop["anyOf"] if option.get("type") != "null"]
        return any(_is_free_text(schema, name, option) for option in options)
    if "$ref" in prop:
        return "enum" not in _resolve(schema, prop["$ref"])
    if prop.get("type") != "string":
        return False
    if prop.get("format") in {"uuid", "date-time"} or "pattern" in prop or "enum" in prop:
        return False
    return name not in IDENTIFIER_TEXT or prop.get("maxLength", 0) > SHORT_TEXT_MAX


def test_the_lifecycle_models_include_every_casework_event() -> None:
    assert {model.__name__ for model in LIFECYCLE_MODELS} >= CASEWORK


@pytest.mark.parametrize("model", LIFECYCLE_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("mode", SCHEMA_MODES)
def test_lifecycle_events_carry_no_free_text(model: type[EventData], mode: str) -> None:
    schema = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    free = [name for name, prop in _properties(schema) if _is_free_text(schema, name, prop)]
    assert free == []
    assert _personal_fields(model, mode) == set()


def test_the_free_text_check_would_catch_a_note() -> None:
    schema = PersonalDetails.model_json_schema()
    free = {name for name, prop in _properties(schema) if _is_free_text(schema, name, prop)}
    assert {"given_name", "line1", "town"} <= free
