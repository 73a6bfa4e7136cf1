"""What `hub intelligence send` and `withdraw` publish: a force's intelligence events, built
and checked against the contract before anything leaves the machine.

A FILE holds either a whole ``IntelligenceSubmitted`` envelope (as a force's system would
publish it) or only its ``data``; the operator's ``--force`` must be the force in it. Every
problem is a ``FileProblem`` whose message names the file, the field and the rule broken,
never the value (it is usually personal data). No I/O but reading the file; clock, ids and
the operator are passed in.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from referral_schemas import (
    Envelope,
    EventRejected,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    WithdrawalReason,
    make_envelope,
    parse_event,
)
from referral_schemas.registry import MAX_EVENT_BYTES
from referral_schemas.text import ForceCode, IntelligenceRef
from referral_schemas.topics import intelligence_key

_IDS = uuid.UUID("5b0f8f0e-3c1a-4f6e-9d2b-7a4c1e8d2f60")
"""Namespace of the ids derived here: the same intelligence gets the same event id, so
sending a file twice is one event to every consumer."""
_ENVELOPE_KEYS = frozenset({"specversion", "type", "data"})


class FileProblem(Exception):
    """Why the file (or an argument) cannot be sent; safe to print."""


@dataclass(frozen=True)
class Sender:
    """Who sends, and when: passed in, so building stays deterministic."""

    force: str
    operator: str
    now: datetime

    @property
    def source(self) -> str:
        return f"urn:police:{self.force}:hub-cli"

    @property
    def actor(self) -> str:
        return f"user:{self.operator}"


def checked_force(force: str) -> str:
    try:
        return str(TypeAdapter(ForceCode).validate_python(force))
    except ValidationError:
        raise FileProblem(
            "--force must be a force code: lower-case letters, digits and '-', e.g. 'cumbria'"
        ) from None


def checked_ref(ref: str) -> str:
    try:
        return str(TypeAdapter(IntelligenceRef).validate_python(ref))
    except ValidationError:
        raise FileProblem(
            "REF must be a force's intelligence reference, e.g. 'CUM/2025/004217'"
        ) from None


def read_file(path: Path) -> bytes:
    """The file's bytes, at most one byte more than an event may have."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_EVENT_BYTES + 1)
    except FileNotFoundError:
        raise FileProblem(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise FileProblem(
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None


def _json_object(name: str, raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise FileProblem(f"{name}: not JSON ({where})") from None
    except (ValueError, RecursionError):
        raise FileProblem(f"{name}: not JSON") from None
    if not isinstance(body, dict):
        raise FileProblem(
            f"{name}: expected a JSON object (an IntelligenceSubmitted envelope or its data)"
        )
    return body


def _ids(key: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The submission's event id and the correlation id its whole chain shares."""
    return uuid.uuid5(_IDS, f"IntelligenceSubmitted/{key}"), uuid.uuid5(_IDS, f"chain/{key}")


def _parsed(name: str, event: bytes, *, data_only: bool) -> Envelope[Any]:
    """Checked by the contract's own parser, as every consumer checks it."""
    try:
        return parse_event(event)
    except EventRejected as exc:
        detail = exc.detail.removeprefix("data.") if data_only else exc.detail
        raise FileProblem(f"{name}: {detail} [{exc.reason}]") from None


def _wrapped(data: dict[str, Any], sender: Sender) -> bytes:
    """The data in a provisional envelope, so the contract's own parser checks it (ASCII
    JSON: a lone surrogate stays an escape, which the parser refuses by name)."""
    force, ref = data.get("force"), data.get("intelligence_ref")
    key = intelligence_key(str(force), str(ref))
    event_id, chain = _ids(key)
    envelope = {
        "specversion": "1.0",
        "id": str(event_id),
        "source": sender.source,
        "type": IntelligenceSubmitted.EVENT_TYPE,
        "schemaversion": IntelligenceSubmitted.SCHEMA_VERSION,
        "time": sender.now.isoformat(),
        "subject": sender.force,  # a valid stand-in: the real one is made from the data
        "correlationid": str(chain),
        "actor": sender.actor,
        "data": data,
    }
    return json.dumps(envelope).encode("ascii")


def submission(name: str, raw: bytes, sender: Sender) -> Envelope[IntelligenceSubmitted]:
    """The IntelligenceSubmitted envelope the file describes, checked against the contract
    and against ``--force``. Data only: the envelope is made here (source
    ``urn:police:<force>:hub-cli``, time = ``recorded_at``, ids derived from the key)."""
    if len(raw) > MAX_EVENT_BYTES:
        raise FileProblem(f"{name}: larger than an event may be ({MAX_EVENT_BYTES} bytes)")
    body = _json_object(name, raw)
    data_only = not (_ENVELOPE_KEYS & body.keys())
    envelope = _parsed(name, _wrapped(body, sender) if data_only else raw, data_only=data_only)
    data = envelope.data
    if not isinstance(data, IntelligenceSubmitted):
        raise FileProblem(
            f"{name}: is a {envelope.type}; `hub intelligence send` sends IntelligenceSubmitted "
            "(withdraw with `hub intelligence withdraw REF`)"
        )
    if data.force != sender.force:
        raise FileProblem(
            f"{name}: data.force is '{data.force}', not '{sender.force}' (--force): a force "
            "sends only its own intelligence"
        )
    key = data.kafka_key()
    if not data_only:
        if envelope.subject != key:
            raise FileProblem(f"{name}: subject must be '{key}' ('<force>:<intelligence_ref>')")
        return envelope
    event_id, chain = _ids(key)
    return make_envelope(
        data,
        id=event_id,
        source=sender.source,
        time=data.recorded_at,
        subject=key,
        correlation_id=chain,
        causation_id=None,
        actor=sender.actor,
    )


def withdrawal(
    ref: str, reason: WithdrawalReason, sender: Sender
) -> Envelope[IntelligenceWithdrawn]:
    """The force's withdrawal of its intelligence ``ref``, now; it shares the correlation id
    of a submission sent from a data-only file with `hub intelligence send`."""
    key = intelligence_key(sender.force, ref)
    data = IntelligenceWithdrawn(
        force=sender.force, intelligence_ref=ref, reason=reason, withdrawn_at=sender.now
    )
    _, chain = _ids(key)
    return make_envelope(
        data,
        id=uuid.uuid5(_IDS, f"IntelligenceWithdrawn/{key}/{reason.value}"),
        source=sender.source,
        time=sender.now,
        subject=key,
        correlation_id=chain,
        causation_id=None,
        actor=sender.actor,
    )
