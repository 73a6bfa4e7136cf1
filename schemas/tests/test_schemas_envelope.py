"""The envelope: CloudEvents attributes, make_envelope, immutability, wire form."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError
from referral_schemas import (
    CancellationReason,
    Envelope,
    IntelligenceWithdrawn,
    ReferralCancelled,
    WithdrawalReason,
    load_sample,
    make_envelope,
    parse_event,
    serialize_event,
)

pytestmark = pytest.mark.contract

EVENT_ID = UUID("0b7c8a52-5f0e-4a39-8d0c-1f9f3e6f2a11")
CORRELATION_ID = UUID("5a1e7d90-2c44-4c9e-9d43-7f1b2f0c9e02")
WHEN = datetime(2025, 4, 10, 15, 20, tzinfo=UTC)


def _withdrawn() -> IntelligenceWithdrawn:
    return IntelligenceWithdrawn(
        force="cumbria",
        intelligence_ref="CUM/2025/004217",
        reason=WithdrawalReason.SUBMITTED_IN_ERROR,
        withdrawn_at=WHEN,
    )


def _envelope(**overrides: Any) -> Envelope[IntelligenceWithdrawn]:
    arguments: dict[str, Any] = {
        "id": EVENT_ID,
        "source": "urn:police:cumbria:records",
        "time": WHEN,
        "subject": "cumbria:CUM/2025/004217",
        "correlation_id": CORRELATION_ID,
        "causation_id": None,
        "actor": "user:cumbria-4417",
        **overrides,
    }
    return make_envelope(_withdrawn(), **arguments)


def test_make_envelope_takes_type_and_version_from_the_payload_class() -> None:
    envelope = _envelope(agency="cumbria-constabulary")
    assert envelope.type == "IntelligenceWithdrawn"
    assert envelope.schemaversion == 1
    assert envelope.specversion == "1.0"
    assert envelope.datacontenttype == "application/json"
    assert envelope.correlationid == CORRELATION_ID
    assert envelope.causationid is None
    assert envelope.agency == "cumbria-constabulary"
    assert envelope.data == _withdrawn()


def test_a_made_envelope_survives_the_wire() -> None:
    envelope = _envelope()
    parsed = parse_event(serialize_event(envelope))
    assert parsed == envelope
    assert isinstance(parsed.data, IntelligenceWithdrawn)


def test_serialized_form_is_compact_json_of_model_dump() -> None:
    envelope = parse_event(load_sample("ReferralOpened.v2"))
    wire = serialize_event(envelope)
    expected = json.dumps(envelope.model_dump(mode="json"), separators=(",", ":"))
    assert json.loads(wire) == json.loads(expected)
    assert b"\n" not in wire
    assert b'": ' not in wire


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"time": datetime(2025, 4, 10, 15, 20)}, "time"),  # naive on purpose
        ({"source": ""}, "source"),
        ({"actor": "user:\n4417"}, "actor"),
        ({"subject": "x" * 201}, "subject"),
    ],
)
def test_make_envelope_validates_attributes(override: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _envelope(**override)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_envelope_is_frozen() -> None:
    envelope = _envelope()
    with pytest.raises(ValidationError, match="frozen"):
        envelope.actor = "user:someone-else"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        envelope.data.reason = WithdrawalReason.DISCREDITED  # type: ignore[misc]


def test_envelope_forbids_extra_attributes() -> None:
    fields = _envelope().model_dump()
    fields["partitionkey"] = "cumbria:CUM/2025/004217"  # a CloudEvents extension we do not use
    with pytest.raises(ValidationError) as caught:
        Envelope[IntelligenceWithdrawn].model_validate(fields)
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_trace_context_travels_in_the_envelope_and_is_left_out_when_absent() -> None:
    plain = _envelope()
    traced = plain.model_copy(update={"traceparent": TRACEPARENT, "tracestate": "hub=1"})

    assert b"traceparent" not in serialize_event(plain), "old events serialise as before"
    back = parse_event(serialize_event(traced))
    assert (back.traceparent, back.tracestate) == (TRACEPARENT, "hub=1")


@pytest.mark.parametrize(
    "value",
    [
        "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    ],
)
def test_a_malformed_traceparent_is_refused(value: str) -> None:
    fields = _envelope().model_dump()
    fields["traceparent"] = value
    with pytest.raises(ValidationError):
        Envelope[IntelligenceWithdrawn].model_validate(fields)


@pytest.mark.parametrize(
    ("attribute", "value"), [("type", "IntelligenceSubmitted"), ("schemaversion", 2)]
)
def test_envelope_type_and_version_must_match_the_data(attribute: str, value: object) -> None:
    fields = _envelope().model_dump()
    fields[attribute] = value
    with pytest.raises(ValidationError) as caught:
        Envelope[IntelligenceWithdrawn].model_validate(fields)
    assert caught.value.errors()[0]["type"] == "type_mismatch"


def test_kafka_keys_follow_the_topic_rules() -> None:
    assert _withdrawn().kafka_key() == "cumbria:CUM/2025/004217"
    referral_id = UUID("c232a737-31b7-496e-a7d2-f23db97a6c6a")
    cancelled = ReferralCancelled(
        referral_id=referral_id,
        reason=CancellationReason.DUPLICATE,
        cancelled_at=WHEN,
    )
    assert cancelled.kafka_key() == str(referral_id)
