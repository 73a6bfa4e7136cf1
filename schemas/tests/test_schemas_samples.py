"""Golden samples: each parses to its model and round-trips exactly."""

import json

import pytest
from referral_schemas import (
    EVENT_MODELS,
    SAMPLE_NAMES,
    Envelope,
    IntelligenceSubmitted,
    event_type_of,
    load_sample,
    parse_event,
    serialize_event,
)

pytestmark = pytest.mark.contract


def test_every_event_model_has_exactly_one_sample() -> None:
    expected = {f"{event_type}.v{version}" for event_type, version in EVENT_MODELS}
    assert set(SAMPLE_NAMES) == expected
    assert len(SAMPLE_NAMES) == len(expected)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_parses_to_the_model_its_name_says(name: str) -> None:
    event_type, version = name.split(".v")
    envelope = parse_event(load_sample(name))
    assert isinstance(envelope, Envelope)
    assert event_type_of(envelope) == event_type
    assert envelope.schemaversion == int(version)
    assert type(envelope.data) is EVENT_MODELS[(event_type, int(version))]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_round_trips(name: str) -> None:
    raw = load_sample(name)
    wire = serialize_event(parse_event(raw))
    assert json.loads(wire) == json.loads(raw)
    assert serialize_event(parse_event(wire)) == wire


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_round_trips_byte_for_byte(name: str) -> None:
    raw = load_sample(name)
    compact = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False)
    assert serialize_event(parse_event(raw)) == compact.encode("utf-8")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_is_pretty_printed_json(name: str) -> None:
    text = load_sample(name).decode("utf-8")
    assert text.startswith('{\n  "specversion"')
    assert text.endswith("}\n")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_envelope_subject_is_the_kafka_key(name: str) -> None:
    envelope = parse_event(load_sample(name))
    assert envelope.subject == envelope.data.kafka_key()


def test_intelligence_sample_is_the_cumbria_cuckooing_case() -> None:
    data = parse_event(load_sample("IntelligenceSubmitted.v1")).data
    assert isinstance(data, IntelligenceSubmitted)
    assert data.force == "cumbria"
    assert data.address.town == "Barrow-in-Furness"
    assert data.address.postcode.startswith("LA14 ")
    assert "cuckooing" in data.indicators


@pytest.mark.parametrize(
    "name", ["ReferralOpened", "../pyproject.toml", "IntelligenceSubmitted.v2"]
)
def test_load_sample_refuses_unknown_names(name: str) -> None:
    with pytest.raises(KeyError):
        load_sample(name)
