"""Entries as JSON (API, timeline, export files); services/audit_tools/entry_json.py reads
them back (verifying an export offline).

The JSON form carries every field the hash covers, so anyone holding it can recompute the
entry's canonical bytes and hashes without the database. A timeline adds each referral
event's effect (effects.py), a derived field outside the hash.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from services.audit.chain import LedgerEntry
from services.audit.effects import effects, lifecycle_entries, record_key
from services.audit.entries import time_text
from services.audit.record_reader import RecordSource
from services.audit.verification import Verification


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    c = entry.content
    return {
        "position": entry.position,
        "topic": c.topic,
        "partition": c.partition,
        "offset": c.offset,
        "record_timestamp_ms": c.record_timestamp_ms,
        "key_sha256": c.key_sha256,
        "value_sha256": c.value_sha256,
        "value_bytes": c.value_bytes,
        "event_id": _str(c.event_id),
        "type": c.type,
        "event_time": time_text(c.event_time),
        "actor": c.actor,
        "agency": c.agency,
        "subject": c.subject,
        "correlation_id": _str(c.correlation_id),
        "referral_id": _str(c.referral_id),
        "category": c.category,
        "recipients": list(c.recipients),
        "purpose": c.purpose,
        "intelligence": c.intelligence,
        "parse_error": c.parse_error,
        "dead_letter": c.dead_letter,
        "producer": c.producer,
        "provenance": c.provenance,
        "prev_hash": entry.prev_hash.hex(),
        "hash": entry.hash.hex(),
        "referral_prev_hash": _hex(entry.referral_prev_hash),
        "referral_hash": _hex(entry.referral_hash),
    }


async def referral_effects(
    entries: Sequence[LedgerEntry], records: RecordSource | None
) -> dict[int, str]:
    """The effect of each referral event of one referral's timeline (effects.py), its
    records read back with ``records``; none without a source."""
    if records is None:
        return {}
    wanted = [record_key(e) for e in lifecycle_entries(entries)]
    return effects(entries, await records(wanted))


def timeline_json(entries: Sequence[LedgerEntry], marks: Mapping[int, str]) -> list[dict[str, Any]]:
    """A timeline's entries: every hashed field, plus ``effect`` (derived, not hashed:
    ``applied``, ``no effect: <code>``, ``unknown``, or null for what is not a referral
    event)."""
    return [{**entry_json(e), "effect": marks.get(e.position)} for e in entries]


def verification_json(result: Verification) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "entries_verified": result.entries,
        "head": result.head,
        "checkpoints": result.checkpoints,
        "checkpoints_verified": result.checkpoints_verified,
        "referrals": result.referrals,
        "key_id": result.key_id,
        "first_bad_entry": result.first_bad_entry,
        "findings": [
            {"position": f.position, "reason": f.reason, "detail": f.detail}
            for f in result.findings
        ],
    }


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()
