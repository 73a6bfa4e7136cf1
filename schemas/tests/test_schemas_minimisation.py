"""Events leaving the police side are minimised: no police-only field at any depth."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from referral_schemas import (
    EVENT_MODELS,
    POLICE_INTELLIGENCE,
    SAMPLE_NAMES,
    EventData,
    IntelligenceSubmitted,
    ReferralSubject,
    envelope_model,
    load_sample,
)

pytestmark = pytest.mark.contract

POLICE_ONLY = {"narrative", "source_reference", "grading"}
# Every event not on police.intelligence is produced by the hub for agencies or back to police.
REFERRAL_MODELS = [model for model in EVENT_MODELS.values() if model.TOPIC != POLICE_INTELLIGENCE]


def _keys(node: Any) -> Iterator[str]:
    """Every key at every depth of a JSON schema, including property names and $defs."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, str):
        yield node


def test_every_event_but_the_intelligence_ones_is_checked() -> None:
    assert len(REFERRAL_MODELS) == len(EVENT_MODELS) - 2
    assert {"ReferralOpened", "ReferralRouted", "OutcomeReported", "ReferralConsulted"} <= {
        model.__name__ for model in REFERRAL_MODELS
    }


@pytest.mark.parametrize("model", REFERRAL_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("wrapped", [False, True], ids=["data", "envelope"])
def test_referral_schema_has_no_police_only_field(model: type[EventData], wrapped: bool) -> None:
    target = envelope_model(model) if wrapped else model
    for mode in ("validation", "serialization"):
        keys = set(_keys(target.model_json_schema(mode=mode)))
        assert keys.isdisjoint(POLICE_ONLY)
        assert "Grading" not in keys


def test_the_check_would_catch_the_intelligence_event() -> None:
    assert set(_keys(IntelligenceSubmitted.model_json_schema())) >= POLICE_ONLY


def test_referral_subject_carries_no_aliases() -> None:
    assert "aliases" not in ReferralSubject.model_fields


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if not n.startswith("Intelligence")])
def test_referral_samples_hold_nothing_police_only(name: str) -> None:
    intelligence = json.loads(load_sample("IntelligenceSubmitted.v1"))["data"]
    sample = json.loads(load_sample(name))
    texts = set(_texts(sample))
    assert texts.isdisjoint(POLICE_ONLY)
    assert intelligence["narrative"] not in texts
    assert intelligence["source_reference"] not in texts
