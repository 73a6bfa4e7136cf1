"""`hub audit export`: a self-contained JSON Lines file of ledger entries that anyone can
verify offline, and `hub audit verify --file` that does.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit import store
from services.audit.chain import GENESIS, LedgerEntry, link
from services.audit.checkpoints import latest
from services.audit.entries import time_text
from services.audit.record_reader import RecordSource
from services.audit.signing import (
    SigningKey,
    checkpoint_signed_by,
    key_id,
    public_key_from_pem,
    public_pem,
    verify,
)
from services.audit.views import entry_from_json, entry_json, referral_effects
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
            where = """ledgered_at >= COALESCE($1::timestamptz, '-infinity')
                   AND ledgered_at < COALESCE($2::timestamptz, 'infinity')"""
            first_last = await conn.fetchrow(
                f"SELECT min(position) AS a, max(position) AS b FROM ledger WHERE {where}",
                start,
                end,
            )
            assert first_last is not None
            a, b = first_last["a"], first_last["b"]
            entries = (
                []
                if a is None
                else [e async for e in store.iter_entries(conn, "position BETWEEN $1 AND $2", a, b)]
            )
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


@dataclass(frozen=True)
class FileVerification:
    ok: bool
    entries: int
    key_id: str | None
    problems: tuple[str, ...]
    first_bad_entry: int | None = None


def verify_file(data: bytes, trusted: Ed25519PublicKey | None = None) -> FileVerification:
    """Seal, then every entry's hashes and links, then the checkpoint; first problem named."""
    body, _, seal_line = data.rstrip(b"\n").rpartition(b"\n")
    try:
        seal = json.loads(seal_line)
        public = public_key_from_pem(seal["public_key"])
        lines = [json.loads(line) for line in body.split(b"\n")]
    except (ValueError, KeyError, TypeError):
        return FileVerification(False, 0, None, ("not a readable audit export",))
    kid = key_id(public)
    problems: list[str] = []
    if seal.get("kind") != "seal" or hashlib.sha256(body + b"\n").hexdigest() != seal["digest"]:
        problems.append("the file's bytes do not match its seal (it was changed)")
    elif not verify(public, str(seal["digest"]).encode("ascii"), str(seal["signature"])):
        problems.append("the seal's signature is not valid")
    if trusted is not None and kid != key_id(trusted):
        problems.append("the file is signed by a key other than the trusted one")
    try:
        entries = [entry_from_json(line) for line in lines if line.get("kind") == "entry"]
        cps = [
            AuditCheckpoint(**_fields(line)) for line in lines if line.get("kind") == "checkpoint"
        ]
        header = lines[0]
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"an entry or checkpoint line is malformed ({type(exc).__name__})")
        return FileVerification(False, 0, kid, tuple(problems))
    bad, chain_problems = _check_entries(entries, header.get("scope", {}))
    problems += chain_problems
    for cp in cps:
        problems += _check_checkpoint(cp, trusted or public, entries)
    return FileVerification(not problems, len(entries), kid, tuple(problems), bad)


def _fields(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "kind"}


def _check_entries(
    entries: Sequence[LedgerEntry], scope: dict[str, Any]
) -> tuple[int | None, list[str]]:
    """Every entry's own hash, then the chain the scope promises to be complete."""
    referral = scope.get("referral_id")
    previous: bytes | None = None
    referral_head = GENESIS
    for entry in entries:
        canonical = entry.content.canonical(entry.position)
        name = f"entry {entry.position}"
        if link(entry.prev_hash, canonical) != entry.hash:
            return entry.position, [f"{name}: its content does not match its hash"]
        if referral is None:
            if previous is not None and entry.prev_hash != previous:
                return entry.position, [f"{name} does not follow the entry before it"]
            previous = entry.hash
        elif entry.content.referral_id is not None and str(entry.content.referral_id) == referral:
            if entry.referral_prev_hash != referral_head or entry.referral_hash != link(
                referral_head, canonical
            ):
                return entry.position, [f"{name} breaks the referral's chain (one is missing?)"]
            referral_head = entry.referral_hash
    return None, []


def _check_checkpoint(
    cp: AuditCheckpoint, public: Ed25519PublicKey, entries: Sequence[LedgerEntry]
) -> list[str]:
    if not checkpoint_signed_by(public, cp):
        return [f"checkpoint {cp.sequence}: signature not valid for the key"]
    inside = {e.position: e.hash.hex() for e in entries}
    if cp.count in inside and inside[cp.count] != cp.head:
        return [f"checkpoint {cp.sequence}: entry {cp.count} is not the head it signed"]
    return []
