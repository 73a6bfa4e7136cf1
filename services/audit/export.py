"""The sealed export: a self-contained JSON Lines file of ledger entries that anyone can
verify offline (``hub audit verify --file``, services/audit_tools/file_check.py). The audit
API serves it (GET /audit/export) and ``hub audit export`` writes it.

Lines: a header (scope, when, the ledger's head then), one line per entry (every field its
hash covers, its hashes), the latest signed checkpoint, and a seal: an Ed25519 signature,
by the checkpoint key, of the sha256 of every byte before the seal line, with the public
key. One changed byte breaks the seal; an edited entry is also named by its own hashes.

An entry line of a referral's export may also say which events had no effect (``effect``,
see effects.py): derived when exported, outside the entry's hash, under the seal.

Scopes: one referral (its entries and the collection of its intelligence: the referral's
own chain is complete from its first entry), or a period (the entries appended in it: a
contiguous stretch of the overall chain, anchored to the checkpoint when it falls inside).
"""

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit import store
from services.audit.chain import LedgerEntry
from services.audit.checkpoints import latest
from services.audit.entries import time_text
from services.audit.record_reader import RecordSource
from services.audit.signing import SigningKey, public_pem
from services.audit.views import entry_json, referral_effects
from services.runtime.db import Connection

FORMAT = "referral-hub-audit-export/1"


@dataclass(frozen=True)
class Export:
    scope: dict[str, Any]
    entries: list[LedgerEntry]
    checkpoint: AuditCheckpoint | None
    ledger_count: int
    ledger_head: str
    effects: Mapping[int, str] = field(default_factory=dict)
    """Position -> effect of each referral event (effects.py), for a referral's export
    read with a record source; derived, so outside the entries' hashes (the seal covers
    it)."""


async def gather(
    conn: Connection,
    *,
    referral: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    records: RecordSource | None = None,
) -> Export:
    """The entries of one referral, or those appended in [start, end), in one snapshot.

    With ``records``, a referral's export also says which of its events had no effect (a
    period's does not: it may hold only the end of a referral's log, which cannot be
    folded)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        count, head = await store.head(conn)
        if referral is not None:
            entries = await store.referral_entries(conn, referral)
            scope: dict[str, Any] = {"referral_id": str(referral)}
        else:
            span = await store.period_span(conn, start, end)
            entries = [] if span is None else [e async for e in store.iter_span(conn, *span)]
            scope = {"from": time_text(start), "to": time_text(end)}
        checkpoint = await latest(conn)
    marks = await referral_effects(entries, records) if referral is not None else {}
    return Export(scope, entries, checkpoint, count, head.hex(), marks)


def _line(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii") + b"\n"


def render(export: Export, key: SigningKey, generated_at: datetime) -> bytes:
    """The JSON Lines file, sealed."""
    lines = [
        _line(
            {
                "kind": "header",
                "format": FORMAT,
                "scope": export.scope,
                "generated_at": time_text(generated_at),
                "ledger_count": export.ledger_count,
                "ledger_head": export.ledger_head,
                "entries": len(export.entries),
            }
        )
    ]
    lines += [_line({"kind": "entry", **_entry(e, export.effects)}) for e in export.entries]
    if export.checkpoint is not None:
        lines.append(_line({"kind": "checkpoint", **export.checkpoint.model_dump(mode="json")}))
    body = b"".join(lines)
    digest = hashlib.sha256(body).hexdigest()
    seal = {
        "kind": "seal",
        "digest": digest,
        "key_id": key.key_id,
        "public_key": public_pem(key.public),
        "signature": key.sign(digest.encode("ascii")),
    }
    return body + _line(seal)


def _entry(entry: LedgerEntry, effects: Mapping[int, str]) -> dict[str, Any]:
    body = entry_json(entry)
    if entry.position in effects:
        body["effect"] = effects[entry.position]
    return body
