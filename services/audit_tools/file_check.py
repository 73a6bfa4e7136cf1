"""`hub audit verify --file`: an export file (services/audit/export.py) checked offline.

The seal first (one changed byte breaks it), then every entry's own hashes and the chain
its scope promises to be complete (a referral's own chain, or a contiguous stretch of the
overall chain), then the checkpoint it carries; the first problem is named.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit.chain import GENESIS, LedgerEntry, link
from services.audit.signing import checkpoint_signed_by, key_id, public_key_from_pem, verify
from services.audit_tools.entry_json import entry_from_json


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
