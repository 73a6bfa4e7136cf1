"""Upcasters turn an old version's data into the next; parse_event applies them."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from referral_schemas import (
    EVENT_MODELS,
    EventRejected,
    IntelligenceWithdrawn,
    RejectionReason,
    load_sample,
    parse_event,
    register_upcaster,
    unregister_upcaster,
    upcast,
)
from referral_schemas.upcasting import has_upcaster

pytestmark = pytest.mark.contract

TYPE = "IntelligenceWithdrawn"


def _rename_withdrawn_on(data: dict[str, Any]) -> dict[str, Any]:
    """A fake 'version 0' where the timestamp was called withdrawn_on."""
    renamed = {key: value for key, value in data.items() if key != "withdrawn_on"}
    renamed["withdrawn_at"] = data["withdrawn_on"]
    return renamed


@pytest.fixture
def version_zero() -> Iterator[dict[str, Any]]:
    """Registers the fake upcaster for the test only; yields a version-0 event."""
    register_upcaster(TYPE, 0, _rename_withdrawn_on)
    event: dict[str, Any] = json.loads(load_sample("IntelligenceWithdrawn.v1"))
    event["schemaversion"] = 0
    event["data"]["withdrawn_on"] = event["data"].pop("withdrawn_at")
    try:
        yield event
    finally:
        unregister_upcaster(TYPE, 0)


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode("utf-8")


def test_an_old_version_parses_as_the_current_model(version_zero: dict[str, Any]) -> None:
    envelope = parse_event(_encode(version_zero))
    current = parse_event(load_sample("IntelligenceWithdrawn.v1"))
    assert isinstance(envelope.data, IntelligenceWithdrawn)
    assert envelope.schemaversion == 1
    assert envelope == current


def test_upcast_leaves_its_input_alone(version_zero: dict[str, Any]) -> None:
    before = json.dumps(version_zero["data"])
    version, data = upcast(TYPE, 0, version_zero["data"])
    assert version == 1
    assert "withdrawn_at" in data
    assert json.dumps(version_zero["data"]) == before


def test_the_fake_upcaster_is_gone_after_its_test() -> None:
    assert not has_upcaster(TYPE, 0)


def test_without_an_upcaster_an_old_version_is_unsupported() -> None:
    event = json.loads(load_sample("IntelligenceWithdrawn.v1"))
    event["schemaversion"] = 0
    with pytest.raises(EventRejected) as caught:
        parse_event(_encode(event))
    assert caught.value.reason is RejectionReason.UNSUPPORTED_SCHEMA_VERSION


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"force": "cumbria"}, RejectionReason.INVALID_VALUE),
        ("withdrawn", RejectionReason.WRONG_TYPE),
        (None, RejectionReason.WRONG_TYPE),
    ],
)
def test_data_an_upcaster_cannot_handle_is_rejected(
    version_zero: dict[str, Any], data: object, reason: RejectionReason
) -> None:
    version_zero["data"] = data
    with pytest.raises(EventRejected) as caught:
        parse_event(_encode(version_zero))
    assert caught.value.reason is reason


def test_an_upcaster_returning_non_json_is_rejected_not_crashing() -> None:
    register_upcaster(TYPE, 0, lambda data: {**data, "withdrawn_at": object()})
    event = json.loads(load_sample("IntelligenceWithdrawn.v1"))
    event["schemaversion"] = 0
    try:
        with pytest.raises(EventRejected) as caught:
            parse_event(_encode(event))
    finally:
        unregister_upcaster(TYPE, 0)
    assert caught.value.reason is RejectionReason.INVALID_VALUE


def test_missing_data_on_an_old_version_is_a_missing_field(version_zero: dict[str, Any]) -> None:
    del version_zero["data"]
    with pytest.raises(EventRejected) as caught:
        parse_event(_encode(version_zero))
    assert caught.value.reason is RejectionReason.MISSING_FIELD
    assert caught.value.detail.startswith("data: ")


def test_upcasters_chain_one_version_at_a_time() -> None:
    register_upcaster("FakeEvent", 1, lambda data: {**data, "v2": True})
    register_upcaster("FakeEvent", 2, lambda data: {**data, "v3": True})
    try:
        assert upcast("FakeEvent", 1, {}) == (3, {"v2": True, "v3": True})
        assert upcast("FakeEvent", 2, {}) == (3, {"v3": True})
        assert upcast("FakeEvent", 3, {}) == (3, {})
    finally:
        unregister_upcaster("FakeEvent", 1)
        unregister_upcaster("FakeEvent", 2)


def test_an_upcaster_cannot_be_registered_twice(version_zero: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_upcaster(TYPE, 0, _rename_withdrawn_on)


@pytest.mark.parametrize(("event_type", "version"), sorted(EVENT_MODELS))
def test_current_versions_are_never_upcast(event_type: str, version: int) -> None:
    data = {"unchanged": True}
    assert upcast(event_type, version, data) == (version, data)
