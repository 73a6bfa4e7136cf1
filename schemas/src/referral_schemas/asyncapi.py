"""The contract as an AsyncAPI 3.0 document, generated from the models.

Print it with ``python -m referral_schemas.asyncapi > asyncapi.json``. Operations describe
the hub's side: it receives police intelligence and sends referral events, outcomes,
consultation records and the directory.
"""

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic.json_schema import JsonSchemaMode, models_json_schema

from referral_schemas import topics
from referral_schemas.envelope import envelope_model
from referral_schemas.registry import EVENT_MODELS

_DISTRIBUTION = "referral-hub-schemas"
_KAFKA_BINDING_VERSION = "0.5.0"

_CHANNEL_DESCRIPTIONS = {
    topics.POLICE_INTELLIGENCE: "Inbound from police systems: intelligence submitted and "
    "withdrawn.",
    topics.REFERRAL_EVENTS: "Every referral lifecycle event, minimised for support agencies.",
    topics.POLICE_OUTCOMES: "Outbound to police systems: referral outcomes.",
    topics.ACCESS_EVENTS: "Consultation and disclosure records (DPA 2018 s.62).",
    topics.DEAD_LETTER: "Messages a consumer could not accept, unchanged, with the rejection "
    "reason in the record headers.",
    topics.DIRECTORY: "Every version of the directory of areas and agencies, in full.",
}

_KEY_DESCRIPTIONS = {
    topics.POLICE_INTELLIGENCE: "'<force>:<intelligence_ref>', e.g. 'cumbria:CUM/2025/004217'.",
    topics.REFERRAL_EVENTS: "The referral id (UUID as text).",
    topics.POLICE_OUTCOMES: "The referral id (UUID as text).",
    topics.ACCESS_EVENTS: "The referral id (UUID as text).",
    topics.DIRECTORY: f"Always '{topics.DIRECTORY_KEY}': one partition keeps versions in order.",
}

_HUB_ACTIONS = {
    topics.POLICE_INTELLIGENCE: "receive",
    topics.REFERRAL_EVENTS: "send",
    topics.POLICE_OUTCOMES: "send",
    topics.ACCESS_EVENTS: "send",
    topics.DIRECTORY: "send",
}


def _message_id(event_type: str, schema_version: int) -> str:
    return f"{event_type}.v{schema_version}"


def _schemas() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Envelope JSON schema per message id, and the shared definitions they refer to."""
    mode: JsonSchemaMode = "validation"
    inputs = [(envelope_model(model), mode) for model in EVENT_MODELS.values()]
    refs, top = models_json_schema(inputs, ref_template="#/components/schemas/{model}")
    payloads = {
        _message_id(event_type, schema_version): dict(refs[(envelope_model(model), mode)])
        for (event_type, schema_version), model in EVENT_MODELS.items()
    }
    return payloads, top.get("$defs", {})


def _messages(payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for (event_type, schema_version), model in sorted(EVENT_MODELS.items()):
        message_id = _message_id(event_type, schema_version)
        messages[message_id] = {
            "name": event_type,
            "title": f"{event_type} v{schema_version}",
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": payloads[message_id],
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": _KEY_DESCRIPTIONS[model.TOPIC]},
                    "bindingVersion": _KAFKA_BINDING_VERSION,
                }
            },
        }
    return messages


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        channels[topic] = {
            "address": topic,
            "description": _CHANNEL_DESCRIPTIONS[topic],
            "messages": {
                _message_id(event_type, schema_version): {
                    "$ref": f"#/components/messages/{_message_id(event_type, schema_version)}"
                }
                for (event_type, schema_version), model in sorted(EVENT_MODELS.items())
                if topic == model.TOPIC
            },
        }
    return channels


def _operations(channels: dict[str, Any]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic, action in _HUB_ACTIONS.items():
        operations[f"{action}_{topic.replace('.', '_')}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [
                {"$ref": f"#/channels/{topic}/messages/{message_id}"}
                for message_id in channels[topic]["messages"]
            ],
        }
    return operations


def _package_version() -> str:
    try:
        return version(_DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0"


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: channels are the Kafka topics, messages the event models."""
    payloads, definitions = _schemas()
    channels = _channels()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "referral-hub events",
            "version": _package_version(),
            "description": "Event contract between police systems, the referral hub and "
            "support agencies. Every message is a CloudEvents 1.0 envelope in structured "
            "JSON mode; type and schemaversion select the model of data.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": _operations(channels),
        "components": {"messages": _messages(payloads), "schemas": definitions},
    }


def main() -> None:
    """Print the AsyncAPI document as JSON."""
    print(json.dumps(build_asyncapi(), indent=2))


if __name__ == "__main__":
    main()
