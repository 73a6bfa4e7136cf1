"""Parse and serialise events on the wire, with machine-readable rejections.

``parse_event`` is the single entry point for bytes from Kafka. Every failure is an
``EventRejected`` whose ``reason`` is a closed code (for dead-letter headers and counters)
and whose ``detail`` names the field and the rule broken, never the offending value: the
value is usually personal data.
"""

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from referral_schemas.access_v1 import ReferralConsulted
from referral_schemas.audit_v1 import AuditCheckpoint
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.envelope import Envelope, EventData, envelope_model
from referral_schemas.erasure_v1 import ErasureRequested, PersonalDataErased
from referral_schemas.intelligence_v1 import IntelligenceSubmitted, IntelligenceWithdrawn
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    EngagementRecorded,
    ReferralAccepted,
    ReferralAssigned,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralEscalated,
    ReferralHeld,
    ReferralRerouted,
    ReferralResumed,
    ReferralRouted,
    SlaBreached,
    VisitAttempted,
    VisitCompleted,
)
from referral_schemas.outcomes_v1 import OutcomeReported
from referral_schemas.referral_v1 import (
    CancellationRequested,
    ReferralAmended,
    ReferralCancelled,
    ReferralLinked,
    ReferralOpened,
)
from referral_schemas.resolution_v1 import EscalationClosed, OfferExpired, ReferralDirected
from referral_schemas.upcasting import has_upcaster, upcast

MAX_EVENT_BYTES = 256 * 1024


class RejectionReason(StrEnum):
    """Why an event was rejected; stable codes for dead-letter headers and metrics."""

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    BAD_DATE = "bad_date"
    CONTROL_CHARACTER = "control_character"
    INVALID_VALUE = "invalid_value"


class EventRejected(Exception):
    """An event that cannot be accepted. ``detail`` is safe to log: it holds no input value."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


_ALL_MODELS: tuple[type[EventData], ...] = (
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    ReferralOpened,
    ReferralLinked,
    ReferralCancelled,
    ReferralRouted,
    ReferralRerouted,
    ReferralEscalated,
    SlaBreached,
    ReferralAccepted,
    ReferralDeclined,
    ReferralAssigned,
    ContactAttempted,
    VisitAttempted,
    VisitCompleted,
    EngagementRecorded,
    ReferralHeld,
    ReferralResumed,
    ReferralCompleted,
    ReferralClosed,
    ReferralAmended,
    CancellationRequested,
    OfferExpired,
    ReferralDirected,
    EscalationClosed,
    OutcomeReported,
    DirectoryPublished,
    ReferralConsulted,
    AuditCheckpoint,
    ErasureRequested,
    PersonalDataErased,
)

EVENT_MODELS: Mapping[tuple[str, int], type[EventData]] = MappingProxyType(
    {(model.EVENT_TYPE, model.SCHEMA_VERSION): model for model in _ALL_MODELS}
)
"""(event type, schema version) -> payload model, for every event of the contract."""

_KNOWN_TYPES = frozenset(event_type for event_type, _ in EVENT_MODELS)

_DATE_ERRORS = frozenset({"date_in_future", "date_too_early"})
_DATE_PREFIXES = ("date_", "datetime_", "time_", "timezone_")
# Pydantic messages that can quote part of the input; replaced by a fixed text.
_SAFE_MESSAGES = {
    "uuid_parsing": "Input should be a valid UUID",
    "uuid_type": "Input should be a valid UUID",
}
_MAX_LOC_PART = 40


def _reject(reason: RejectionReason, detail: str) -> NoReturn:
    # "from None": a chained decode or validation error would quote the input in tracebacks.
    raise EventRejected(reason, detail) from None


def _reason_for(error_type: str) -> RejectionReason:
    """Map a pydantic error type to a rejection reason."""
    if error_type == "missing":
        return RejectionReason.MISSING_FIELD
    if error_type == "extra_forbidden":
        return RejectionReason.UNKNOWN_FIELD
    if error_type == "json_invalid":
        return RejectionReason.NOT_JSON
    if error_type == "control_character":
        return RejectionReason.CONTROL_CHARACTER
    if error_type in _DATE_ERRORS or error_type.startswith(_DATE_PREFIXES):
        return RejectionReason.BAD_DATE
    if error_type.endswith(("_type", "_parsing")) or error_type == "int_from_float":
        return RejectionReason.WRONG_TYPE
    return RejectionReason.INVALID_VALUE


def _loc_part(part: str | int) -> str:
    # Unknown keys come from the sender: keep them short and printable.
    text = "".join(ch if ch.isprintable() else "?" for ch in str(part))
    return text if len(text) <= _MAX_LOC_PART else text[: _MAX_LOC_PART - 3] + "..."


def _format_loc(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + _loc_part(part)
    return path or "(envelope)"


def _rejection_from(exc: ValidationError) -> EventRejected:
    errors: list[ErrorDetails] = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    message = _SAFE_MESSAGES.get(first["type"], first["msg"])
    count = len(errors)
    tally = "1 error" if count == 1 else f"first of {count} errors"
    detail = f"{_format_loc(first['loc'])}: {message} ({tally})"
    return EventRejected(_reason_for(first["type"]), detail)


def _decode(raw: bytes, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        _reject(RejectionReason.TOO_LARGE, f"event is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _reject(RejectionReason.NOT_UTF8, f"invalid UTF-8 at byte offset {exc.start}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        _reject(RejectionReason.NOT_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError):
        _reject(RejectionReason.NOT_JSON, "not valid JSON (out-of-range number or too deep)")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


def _versioned(event: dict[str, Any]) -> tuple[type[EventData], dict[str, Any]]:
    """Check type and schemaversion, upcast old versions; returns the model and the event."""
    if "type" not in event:
        _reject(RejectionReason.MISSING_FIELD, "type: Field required")
    event_type = event["type"]
    if not isinstance(event_type, str):
        _reject(RejectionReason.WRONG_TYPE, "type: Input should be a valid string")
    if event_type not in _KNOWN_TYPES:
        known = ", ".join(sorted(_KNOWN_TYPES))
        _reject(RejectionReason.UNKNOWN_EVENT_TYPE, f"type: not a known event type ({known})")
    if "schemaversion" not in event:
        _reject(RejectionReason.MISSING_FIELD, "schemaversion: Field required")
    version = event["schemaversion"]
    if not isinstance(version, int) or isinstance(version, bool):
        _reject(RejectionReason.WRONG_TYPE, "schemaversion: Input should be a valid integer")
    if (event_type, version) not in EVENT_MODELS and has_upcaster(event_type, version):
        event = _upcast_event(event, event_type, version)
        version = event["schemaversion"]
    model = EVENT_MODELS.get((event_type, version))
    if model is None:
        supported = ", ".join(str(v) for t, v in sorted(EVENT_MODELS) if t == event_type)
        _reject(
            RejectionReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schemaversion: not a supported version of {event_type} (supported: {supported})",
        )
    return model, event


def _upcast_event(event: dict[str, Any], event_type: str, version: int) -> dict[str, Any]:
    if "data" not in event:
        _reject(RejectionReason.MISSING_FIELD, "data: Field required")
    data = event["data"]
    if not isinstance(data, dict):
        _reject(RejectionReason.WRONG_TYPE, "data: Input should be an object")
    try:
        new_version, new_data = upcast(event_type, version, data)
    except (KeyError, TypeError, ValueError):
        _reject(RejectionReason.INVALID_VALUE, f"data: cannot upcast from version {version}")
    return {**event, "schemaversion": new_version, "data": new_data}


_ENVELOPES: dict[type[EventData], type[Envelope[Any]]] = {
    model: envelope_model(model) for model in _ALL_MODELS
}
"""The parametrised envelope class of each payload model, looked up once."""

# A \uD800-\uDFFF escape: json.loads accepts a lone one, which is not Unicode text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_event(raw: bytes, *, max_bytes: int = MAX_EVENT_BYTES) -> Envelope[Any]:
    """Validate one message from the wire into an envelope with the right payload model.

    Checks, in order: size, UTF-8, JSON, a JSON object, ``type`` known, ``schemaversion``
    supported (older versions are upcast first), then the whole envelope and its data.
    Raises :class:`EventRejected` on the first check that fails.
    """
    event = _decode(raw, max_bytes)
    if not isinstance(event, dict):
        _reject(RejectionReason.NOT_AN_OBJECT, "the event should be a JSON object")
    model, versioned = _versioned(event)
    # The bytes as received are validated when they are the event as it stands: not upcast,
    # and free of surrogate escapes (which re-encoding refuses). Else the event re-encoded.
    as_received = versioned is event and not _SURROGATE_ESCAPE.search(raw.decode("utf-8"))
    body = raw if as_received else _reencode(versioned)
    try:
        # Strict JSON mode: no numbers as dates, no strings as numbers.
        return _ENVELOPES[model].model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise _rejection_from(exc) from None


def _reencode(event: dict[str, Any]) -> bytes:
    """JSON bytes of the (possibly upcast) event, for pydantic's strict JSON validation."""
    try:
        return json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # json.loads accepts escaped lone surrogates ("\\ud800"); they are not Unicode text.
        _reject(RejectionReason.NOT_UTF8, "a string holds a lone surrogate escape")
    except (TypeError, ValueError):
        _reject(RejectionReason.INVALID_VALUE, "data: an upcaster produced data that is not JSON")


def serialize_event(envelope: Envelope[Any]) -> bytes:
    """The wire form of an envelope: compact UTF-8 JSON of ``model_dump(mode="json")``."""
    return envelope.model_dump_json(serialize_as_any=True).encode("utf-8")


def event_type_of(envelope: Envelope[Any]) -> str:
    """The event type of an envelope, e.g. ``"IntelligenceSubmitted"``."""
    return envelope.type
