"""An export's entry line read back into the entry it describes (services/audit/views.py
writes it), so that its hashes can be recomputed offline without the database."""

import uuid
from datetime import datetime
from typing import Any

from services.audit.chain import LedgerEntry
from services.audit.entries import EntryContent


def entry_from_json(body: dict[str, Any]) -> LedgerEntry:
    """The entry a JSON object describes; KeyError/ValueError/TypeError if malformed."""
    content = EntryContent(
        topic=str(body["topic"]),
        partition=int(body["partition"]),
        offset=int(body["offset"]),
        record_timestamp_ms=_int(body["record_timestamp_ms"]),
        key_sha256=body["key_sha256"],
        value_sha256=str(body["value_sha256"]),
        value_bytes=int(body["value_bytes"]),
        event_id=_uuid(body["event_id"]),
        type=body["type"],
        event_time=None
        if body["event_time"] is None
        else datetime.fromisoformat(body["event_time"]),
        actor=body["actor"],
        agency=body["agency"],
        subject=body["subject"],
        correlation_id=_uuid(body["correlation_id"]),
        referral_id=_uuid(body["referral_id"]),
        category=body["category"],
        recipients=tuple(str(r) for r in body["recipients"]),
        purpose=body["purpose"],
        intelligence=body["intelligence"],
        parse_error=body["parse_error"],
        dead_letter=body["dead_letter"],
        producer=body.get("producer"),
        provenance=body.get("provenance"),
    )
    return LedgerEntry(
        position=int(body["position"]),
        content=content,
        prev_hash=bytes.fromhex(body["prev_hash"]),
        hash=bytes.fromhex(body["hash"]),
        referral_prev_hash=_unhex(body["referral_prev_hash"]),
        referral_hash=_unhex(body["referral_hash"]),
    )


def _unhex(value: Any) -> bytes | None:
    return None if value is None else bytes.fromhex(str(value))


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
