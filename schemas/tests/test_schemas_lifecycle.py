"""Routing, casework, feedback and access events: closed sets, codes, topics, keys."""

import json
from enum import StrEnum
from typing import Any

import pytest
from referral_schemas import (
    ACCESS_EVENTS,
    DIRECTORY,
    DIRECTORY_KEY,
    EVENT_MODELS,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
    ConsultationPurpose,
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    EscalationReason,
    EventRejected,
    HoldReason,
    Outcome,
    RejectionReason,
    RerouteCause,
    ServiceKind,
    VisitResult,
    lifecycle_v1,
    load_sample,
    parse_event,
)

pytestmark = pytest.mark.contract

LIFECYCLE_MODELS = [
    model for model in EVENT_MODELS.values() if model.__module__ == lifecycle_v1.__name__
]

CLOSED_SETS: dict[type[StrEnum], list[str]] = {
    ServiceKind: ["vulnerability_visit", "substance_recovery", "youth_support", "housing_support"],
    DeclineReason: [
        "no_capacity",
        "outside_service_scope",
        "safety_concerns",
        "conflict_of_interest",
        "already_supported_elsewhere",
    ],
    EscalationReason: [
        "no_agency_covers_area",
        "no_agency_with_capacity",
        "all_agencies_declined",
        "acceptance_deadline_missed",
    ],
    RerouteCause: ["declined", "acceptance_deadline_missed"],
    ContactMethod: ["phone", "text_message", "letter", "in_person"],
    ContactResult: ["no_answer", "left_message", "spoke_to_person", "wrong_number"],
    VisitResult: ["no_answer", "refused_entry", "person_not_present", "not_safe_to_proceed"],
    EngagementLevel: ["engaged", "partially_engaged", "declined_support"],
    HoldReason: [
        "live_police_operation",
        "safeguarding_strategy_meeting",
        "other_police_request",
    ],
    Outcome: [
        "engaged_with_support",
        "signposted",
        "declined_support",
        "no_contact_after_attempts",
        "safeguarding_escalated",
        "moved_out_of_area",
        "in_custody",
        "intelligence_withdrawn",
    ],
    ConsultationPurpose: [
        "queue_review",
        "casework",
        "supervision",
        "audit",
        "police_coordination",
    ],
}

# (sample, path of a closed-set value in it, the set)
CLOSED_SET_FIELDS = [
    ("ReferralRerouted.v1", "data.cause", RerouteCause),
    ("ReferralEscalated.v1", "data.reason", EscalationReason),
    ("ReferralDeclined.v1", "data.reason", DeclineReason),
    ("ContactAttempted.v1", "data.method", ContactMethod),
    ("ContactAttempted.v1", "data.result", ContactResult),
    ("VisitAttempted.v1", "data.result", VisitResult),
    ("EngagementRecorded.v1", "data.level", EngagementLevel),
    ("ReferralHeld.v1", "data.reason", HoldReason),
    ("ReferralCompleted.v1", "data.outcome", Outcome),
    ("ReferralClosed.v1", "data.outcome", Outcome),
    ("OutcomeReported.v1", "data.outcome", Outcome),
    ("ReferralConsulted.v1", "data.purpose", ConsultationPurpose),
    ("DirectoryPublished.v1", "data.agencies.0.services.0", ServiceKind),
]


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(load_sample(name))
    return event


def _parent(event: dict[str, Any], path: str) -> tuple[Any, str | int]:
    """The container holding a dotted path's last part (digits index lists)."""
    node: Any = event
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    return node, int(last) if last.isdigit() else last


def _set(event: dict[str, Any], path: str, value: object) -> None:
    node, last = _parent(event, path)
    node[last] = value


def _get(event: dict[str, Any], path: str) -> Any:
    node, last = _parent(event, path)
    return node[last]


def _detail_path(path: str) -> str:
    """``data.agencies.0.services.0`` -> ``data.agencies[0].services[0]``, as in details."""
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path.split(".")).lstrip(".")


def _rejection(event: dict[str, Any]) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(json.dumps(event).encode("utf-8"))
    return caught.value


@pytest.mark.parametrize("closed_set", CLOSED_SETS, ids=lambda e: e.__name__)
def test_closed_sets_are_exactly_the_contract(closed_set: type[StrEnum]) -> None:
    assert [member.value for member in closed_set] == CLOSED_SETS[closed_set]
    assert all(member.value == member.name.lower() for member in closed_set)


def test_every_closed_set_is_exercised_on_the_wire() -> None:
    assert {closed_set for _, _, closed_set in CLOSED_SET_FIELDS} == set(CLOSED_SETS)


@pytest.mark.parametrize(("name", "path", "closed_set"), CLOSED_SET_FIELDS)
def test_closed_set_refuses_an_unknown_code(
    name: str, path: str, closed_set: type[StrEnum]
) -> None:
    event = _event(name)
    assert _get(event, path) in CLOSED_SETS[closed_set]
    for unknown in ["gossip", "", _get(event, path).upper()]:
        _set(event, path, unknown)
        rejection = _rejection(event)
        assert rejection.reason is RejectionReason.INVALID_VALUE
        assert rejection.detail.startswith(f"{_detail_path(path)}: ")


@pytest.mark.parametrize(
    ("name", "path", "value", "reason"),
    [
        ("ReferralRouted.v1", "data.agency", "TWC Barrow", RejectionReason.INVALID_VALUE),
        ("ReferralRouted.v1", "data.area", "Barrow", RejectionReason.INVALID_VALUE),
        ("ReferralRouted.v1", "data.directory_version", 0, RejectionReason.INVALID_VALUE),
        ("ReferralRouted.v1", "data.directory_version", "3", RejectionReason.WRONG_TYPE),
        ("ReferralRouted.v1", "data.due_by", "2025-03-16T09:30:04", RejectionReason.BAD_DATE),
        ("ReferralRerouted.v1", "data.to_agency", "x", RejectionReason.INVALID_VALUE),
        ("ReferralAssigned.v1", "data.worker", "  ", RejectionReason.INVALID_VALUE),
        ("ReferralAssigned.v1", "data.by", "twc\n0231", RejectionReason.CONTROL_CHARACTER),
        ("ReferralConsulted.v1", "data.user", "x" * 201, RejectionReason.INVALID_VALUE),
        ("ReferralConsulted.v1", "data.agency", "-twc", RejectionReason.INVALID_VALUE),
        ("OutcomeReported.v1", "data.intelligence_refs", [], RejectionReason.INVALID_VALUE),
        (
            "OutcomeReported.v1",
            "data.intelligence_refs",
            ["CUM/2025/005102", "CUM/2025/005102"],
            RejectionReason.INVALID_VALUE,
        ),
        ("OutcomeReported.v1", "data.force", "Cumbria", RejectionReason.INVALID_VALUE),
        ("VisitCompleted.v1", "data.notes", "went well", RejectionReason.UNKNOWN_FIELD),
    ],
)
def test_codes_and_ids_are_checked(
    name: str, path: str, value: object, reason: RejectionReason
) -> None:
    event = _event(name)
    _set(event, path, value)
    rejection = _rejection(event)
    assert rejection.reason is reason
    assert rejection.detail.startswith(f"{_detail_path(path)}: ")


NULLABLE = [
    ("ReferralEscalated.v1", "data.area"),
    ("ReferralHeld.v1", "data.agency"),
    ("ReferralResumed.v1", "data.agency"),
    ("OutcomeReported.v1", "data.agency"),
    ("OutcomeReported.v1", "data.first_contact_at"),
    ("ReferralConsulted.v1", "data.agency"),
]


@pytest.mark.parametrize(("name", "path"), NULLABLE)
def test_nullable_fields_accept_null_but_must_be_present(name: str, path: str) -> None:
    event = _event(name)
    _set(event, path, None)
    assert getattr(parse_event(json.dumps(event).encode()).data, path.split(".")[-1]) is None
    node, last = _parent(event, path)
    del node[last]
    rejection = _rejection(event)
    assert rejection.reason is RejectionReason.MISSING_FIELD
    assert rejection.detail.startswith(f"{path}: ")


def test_there_are_fifteen_lifecycle_events() -> None:
    assert len(LIFECYCLE_MODELS) == 15
    assert all(model.SCHEMA_VERSION == 1 for model in LIFECYCLE_MODELS)


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [(model.EVENT_TYPE, REFERRAL_EVENTS) for model in LIFECYCLE_MODELS]
    + [
        ("OutcomeReported", POLICE_OUTCOMES),
        ("DirectoryPublished", DIRECTORY),
        ("ReferralConsulted", ACCESS_EVENTS),
    ],
)
def test_topic_and_key_follow_the_contract(event_type: str, topic: str) -> None:
    model = EVENT_MODELS[(event_type, 1)]
    assert topic == model.TOPIC
    data = parse_event(load_sample(f"{event_type}.v1")).data
    expected = DIRECTORY_KEY if topic == DIRECTORY else str(data.referral_id)
    assert data.kafka_key() == expected


@pytest.mark.parametrize("model", LIFECYCLE_MODELS, ids=lambda m: m.__name__)
def test_every_lifecycle_event_names_its_referral_and_a_time(model: type[Any]) -> None:
    fields = list(model.model_fields)
    assert fields[0] == "referral_id"
    assert any(name.endswith("_at") for name in fields)
