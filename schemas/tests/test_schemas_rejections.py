"""parse_event rejects bad input with the right reason and a detail free of personal data."""

import json
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from referral_schemas import MAX_EVENT_BYTES, EventRejected, RejectionReason, parse_event

pytestmark = pytest.mark.contract

Mutation = Callable[[dict[str, Any]], None]


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode("utf-8")


def _messages_of(traceback_lines: list[str]) -> str:
    """A formatted traceback without its frames ("File ..." lines and the source under them),
    which name this checkout's paths: what is left is every exception's own message,
    chained ones included."""
    text = "".join(traceback_lines)
    return "\n".join(
        line for line in text.splitlines() if not line.startswith(('  File "', "    "))
    )


def _rejection(raw: bytes, **kwargs: int) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw, **kwargs)
    return caught.value


def _set(path: str, value: object) -> Mutation:
    """A mutation setting a dotted path, e.g. ``_set("data.subject.given_name", "x")``."""

    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            event = event[key]
        event[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            event = event[key]
        del event[last]

    return mutate


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"{" + b" " * (2 * 1024 * 1024) + b"}", RejectionReason.TOO_LARGE, id="2MB"),
        pytest.param(b'{"type": "caf\xe9"}', RejectionReason.NOT_UTF8, id="latin-1"),
        pytest.param(b"type=IntelligenceSubmitted", RejectionReason.NOT_JSON, id="not-json"),
        pytest.param(b'{"schemaversion": NaN}', RejectionReason.NOT_JSON, id="nan"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, RejectionReason.NOT_JSON, id="too-deep"),
        pytest.param(b"9" * 5_000, RejectionReason.NOT_JSON, id="huge-number"),
        pytest.param(b'["IntelligenceSubmitted"]', RejectionReason.NOT_AN_OBJECT, id="array"),
        pytest.param(b'"IntelligenceSubmitted"', RejectionReason.NOT_AN_OBJECT, id="string"),
        pytest.param(b"{}", RejectionReason.MISSING_FIELD, id="empty-object"),
        pytest.param(
            b'{"type": "ReferralCancelled", "schemaversion": 1, "actor": "\\ud800"}',
            RejectionReason.NOT_UTF8,
            id="lone-surrogate-escape",
        ),
    ],
)
def test_undecodable_bodies_are_rejected(raw: bytes, reason: RejectionReason) -> None:
    assert _rejection(raw).reason is reason


@pytest.mark.parametrize(
    ("mutation", "reason", "path"),
    [
        (_set("type", "IntelligenceShared"), RejectionReason.UNKNOWN_EVENT_TYPE, "type"),
        (_set("type", 7), RejectionReason.WRONG_TYPE, "type"),
        (_drop("type"), RejectionReason.MISSING_FIELD, "type"),
        (_set("schemaversion", 2), RejectionReason.UNSUPPORTED_SCHEMA_VERSION, "schemaversion"),
        (_set("schemaversion", 0), RejectionReason.UNSUPPORTED_SCHEMA_VERSION, "schemaversion"),
        (_set("schemaversion", "1"), RejectionReason.WRONG_TYPE, "schemaversion"),
        (_set("schemaversion", True), RejectionReason.WRONG_TYPE, "schemaversion"),
        (_drop("schemaversion"), RejectionReason.MISSING_FIELD, "schemaversion"),
        (_drop("data.narrative"), RejectionReason.MISSING_FIELD, "data.narrative"),
        (_drop("correlationid"), RejectionReason.MISSING_FIELD, "correlationid"),
        (_set("data.hair_colour", "red"), RejectionReason.UNKNOWN_FIELD, "data.hair_colour"),
        (_set("partitionkey", "k"), RejectionReason.UNKNOWN_FIELD, "partitionkey"),
        (
            _set("data.subject.given_name", "Ca\x07sey"),
            RejectionReason.CONTROL_CHARACTER,
            "data.subject.given_name",
        ),
        (
            _set("data.narrative", "seen\x1b[2J"),
            RejectionReason.CONTROL_CHARACTER,
            "data.narrative",
        ),
        (
            _set("data.subject.date_of_birth", "1987-02-30"),
            RejectionReason.BAD_DATE,
            "data.subject.date_of_birth",
        ),
        (
            _set("data.subject.date_of_birth", 19871123),
            RejectionReason.BAD_DATE,
            "data.subject.date_of_birth",
        ),
        (
            _set("data.subject.date_of_birth", "1899-12-31"),
            RejectionReason.BAD_DATE,
            "data.subject.date_of_birth",
        ),
        (_set("data.subject.date_of_birth", "2031-01-01"), RejectionReason.BAD_DATE, "data"),
        (_set("time", "2025-03-14T09:30:00"), RejectionReason.BAD_DATE, "time"),
        (_set("data.recorded_at", 1741944900), RejectionReason.BAD_DATE, "data.recorded_at"),
        (
            _set("data.subject.given_name", 42),
            RejectionReason.WRONG_TYPE,
            "data.subject.given_name",
        ),
        (_set("data.indicators", "cuckooing"), RejectionReason.WRONG_TYPE, "data.indicators"),
        (_set("data.grading", "2BP"), RejectionReason.WRONG_TYPE, "data.grading"),
        (_set("id", "not-a-uuid"), RejectionReason.WRONG_TYPE, "id"),
        (_set("data.indicators", ["gossip"]), RejectionReason.INVALID_VALUE, "data.indicators[0]"),
        (_set("data.indicators", []), RejectionReason.INVALID_VALUE, "data.indicators"),
        (
            _set("data.indicators", ["cuckooing", "cuckooing"]),
            RejectionReason.INVALID_VALUE,
            "data.indicators",
        ),
        (_set("specversion", "0.3"), RejectionReason.INVALID_VALUE, "specversion"),
        (_set("data.force", "Cumbria Police"), RejectionReason.INVALID_VALUE, "data.force"),
        (
            _set("data.address.postcode", "LA99"),
            RejectionReason.INVALID_VALUE,
            "data.address.postcode",
        ),
        (
            _set("data.subject.phone", "+1 212 555 0100"),
            RejectionReason.INVALID_VALUE,
            "data.subject.phone",
        ),
        (_set("data.grading.handling_code", "C"), RejectionReason.MISSING_FIELD, "data.grading"),
        (
            _set("data.subject.given_name", "   "),
            RejectionReason.INVALID_VALUE,
            "data.subject.given_name",
        ),
    ],
)
def test_invalid_events_are_rejected_with_reason_and_field(
    submitted: dict[str, Any], mutation: Mutation, reason: RejectionReason, path: str
) -> None:
    mutation(submitted)
    rejection = _rejection(_encode(submitted))
    assert rejection.reason is reason
    assert rejection.detail.startswith(f"{path}: ")


def test_detail_names_the_field_and_the_rule_and_counts_errors(submitted: dict[str, Any]) -> None:
    submitted["data"]["subject"]["date_of_birth"] = 19871123
    rejection = _rejection(_encode(submitted))
    assert rejection.detail == "data.subject.date_of_birth: Input should be a valid date (1 error)"
    assert str(rejection) == f"bad_date: {rejection.detail}"


def test_detail_reports_the_first_of_several_errors(submitted: dict[str, Any]) -> None:
    del submitted["actor"]
    submitted["data"]["subject"]["given_name"] = ""
    submitted["data"]["indicators"] = []
    rejection = _rejection(_encode(submitted))
    assert rejection.reason is RejectionReason.MISSING_FIELD
    assert rejection.detail == "actor: Field required (first of 3 errors)"


def test_type_is_checked_before_the_rest_of_the_envelope() -> None:
    rejection = _rejection(b'{"type": "Gossip", "extra": 1}')
    assert rejection.reason is RejectionReason.UNKNOWN_EVENT_TYPE


def test_size_is_checked_before_decoding() -> None:
    rejection = _rejection(b"\xff" * 100, max_bytes=99)
    assert rejection.reason is RejectionReason.TOO_LARGE
    assert "99" in rejection.detail


def test_an_event_at_the_size_limit_is_accepted(submitted: dict[str, Any]) -> None:
    raw = _encode(submitted)
    padded = raw[:-1] + b" " * (MAX_EVENT_BYTES - len(raw)) + b"}"
    assert len(padded) == MAX_EVENT_BYTES
    assert parse_event(padded).data.kafka_key() == "cumbria:CUM/2025/004217"


@pytest.mark.parametrize(
    ("path", "value", "personal"),
    [
        ("data.subject.given_name", "Morwenna\x00", "Morwenna"),
        ("data.subject.family_name", "Pengelly" * 30, "Pengelly"),
        ("data.subject.date_of_birth", "1983-02-31", "1983"),
        ("data.subject.date_of_birth", "2039-07-04", "2039"),
        ("data.subject.date_of_birth", "Morwenna", "Morwenna"),
        ("data.subject.phone", "+33 6 12 34 56 78", "12 34"),
        ("data.address.postcode", "TR99 9CC", "TR99"),
        ("data.address.line1", "7 Quay St\r\n", "Quay"),
        ("data.narrative", "Morwenna is at risk\x1b", "Morwenna"),
        ("data.subject.aliases", ["Wenna"] * 11, "Wenna"),
        ("id", "d0b5-Pengelly", "Pengelly"),
        ("id", "zz", "z"),
        ("type", "MorwennaPengelly", "Morwenna"),
    ],
)
def test_rejection_never_contains_the_personal_value(
    submitted: dict[str, Any], path: str, value: object, personal: str
) -> None:
    _set(path, value)(submitted)
    rejection = _rejection(_encode(submitted))
    assert personal not in rejection.detail
    assert personal not in str(rejection)
    assert personal not in _messages_of(traceback.format_exception(rejection))
