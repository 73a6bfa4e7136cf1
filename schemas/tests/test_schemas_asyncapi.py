"""The AsyncAPI document lists every topic and every event model."""

import json
import subprocess
import sys
from typing import Any

import pytest
from referral_schemas import ALL_TOPICS, DEAD_LETTER, EVENT_MODELS, POLICE_INTELLIGENCE
from referral_schemas.asyncapi import build_asyncapi

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_asyncapi()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_document_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["version"]
    assert document["defaultContentType"] == "application/json"


def test_channels_are_the_topics(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert sorted(channels) == sorted(ALL_TOPICS)
    assert all(channel["address"] == topic for topic, channel in channels.items())


@pytest.mark.parametrize(("event_type", "version"), sorted(EVENT_MODELS))
def test_every_event_model_is_a_message_on_its_topic(
    document: dict[str, Any], event_type: str, version: int
) -> None:
    model = EVENT_MODELS[(event_type, version)]
    message_id = f"{event_type}.v{version}"
    message = document["components"]["messages"][message_id]
    assert message["name"] == event_type
    assert message_id in document["channels"][model.TOPIC]["messages"]
    payload = _resolve(document, message["payload"]["$ref"])
    assert payload["properties"]["type"]["type"] == "string"
    data = _resolve(document, payload["properties"]["data"]["$ref"])
    assert data["title"] == model.__name__
    assert set(data["properties"]) == set(model.model_fields)


def test_the_hub_receives_intelligence_and_sends_the_rest(document: dict[str, Any]) -> None:
    actions = {
        operation["channel"]["$ref"].removeprefix("#/channels/"): operation["action"]
        for operation in document["operations"].values()
    }
    assert actions == {
        topic: "receive" if topic == POLICE_INTELLIGENCE else "send"
        for topic in ALL_TOPICS
        if topic != DEAD_LETTER
    }


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert _resolve(document, ref) is not None


def test_module_prints_the_document_as_json(document: dict[str, Any]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "referral_schemas.asyncapi"],
        capture_output=True,
        check=True,
        text=True,
    )
    assert json.loads(result.stdout) == json.loads(json.dumps(document))
