"""`hub audit verify`: recompute every chain from the database and check every checkpoint.

The chains catch an entry edited, deleted, moved or inserted in place. An edit followed by
recomputing every hash after it leaves a consistent chain: only the signed checkpoints,
whose key is not in the database, catch that (and a truncated tail).
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit import store
from services.audit.chain import ChainWalker, Finding
from services.audit.checkpoints import all_checkpoints
from services.audit.signing import checkpoint_signed_by, key_id, statement_digest
from services.runtime.db import Connection


@dataclass(frozen=True)
class Verification:
    entries: int
    """Entries verified (up to the first break)."""
    head: str
    checkpoints: int
    checkpoints_verified: int
    referrals: int
    key_id: str
    findings: tuple[Finding, ...] = field(default=())
    producers: tuple[tuple[str, int], ...] = field(default=())
    """Entries by who the ledger verified signed them (``producer``), or by why not
    (``bad_signature``, ``untrusted_producer``), most first."""

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_entry(self) -> int | None:
        positions = [f.position for f in self.findings if f.position is not None]
        return min(positions) if positions else None


def check_checkpoints(
    checkpoints: Sequence[AuditCheckpoint], walker: ChainWalker, public: Ed25519PublicKey
) -> tuple[list[Finding], int]:
    """Problems with the checkpoints, and how many were fully confirmed."""
    findings: list[Finding] = []
    confirmed = 0
    previous: AuditCheckpoint | None = None
    good_count = 0
    broken = walker.first_finding() is not None
    for number, cp in enumerate(checkpoints, start=1):
        name = f"checkpoint {cp.sequence}"
        if cp.sequence != number:
            findings.append(Finding(None, "checkpoint_missing", f"checkpoint {number} is missing"))
            return findings, confirmed
        if not checkpoint_signed_by(public, cp):
            findings.append(
                Finding(None, "checkpoint_signature", f"{name} is not signed by the trusted key")
            )
            return findings, confirmed
        if previous is not None and (
            cp.previous != statement_digest(previous) or cp.count < previous.count
        ):
            findings.append(
                Finding(None, "checkpoint_chain", f"{name} does not extend checkpoint {number - 1}")
            )
            return findings, confirmed
        previous = cp
        if cp.count > walker.count:
            if not broken:
                findings.append(
                    Finding(
                        walker.count + 1,
                        "missing_tail",
                        f"{name} signed {cp.count} entries but the ledger has {walker.count}: "
                        f"entries {walker.count + 1} to {cp.count} are missing",
                    )
                )
            return findings, confirmed
        at_count = walker.remembered.get(cp.count) if cp.count else bytes(32)
        if at_count is None or at_count.hex() != cp.head:
            findings.append(
                Finding(
                    good_count + 1,
                    "rewritten",
                    f"entry {cp.count} is not the head {name} signed: an entry from "
                    f"{good_count + 1} to {cp.count} was changed and the chain recomputed "
                    "(`hub audit replay` compares each entry with the topics)",
                )
            )
            return findings, confirmed
        confirmed += 1
        good_count = cp.count
    return findings, confirmed


async def verify_database(conn: Connection, public: Ed25519PublicKey) -> Verification:
    """Verify the ledger the connection's search_path selects, in one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoints = await all_checkpoints(conn)
        walker = ChainWalker(remember=frozenset(cp.count for cp in checkpoints))
        producers: Counter[str] = Counter()
        async for entry in store.iter_entries(conn):
            walker.feed(entry)
            content = entry.content
            producers[content.producer or f"({content.provenance or 'not checked'})"] += 1
            if walker.stopped:
                break
        if walker.suspect is not None:
            walker.resolve(await store.position_of_hash(conn, walker.suspect.entry.prev_hash))
    verification = conclude(walker, checkpoints, public)
    return replace(verification, producers=tuple(producers.most_common()))


def conclude(
    walker: ChainWalker, checkpoints: Sequence[AuditCheckpoint], public: Ed25519PublicKey
) -> Verification:
    chain_finding = walker.first_finding()
    cp_findings, confirmed = check_checkpoints(checkpoints, walker, public)
    findings = ([chain_finding] if chain_finding else []) + cp_findings
    findings.sort(key=lambda f: (f.position is None, f.position or 0))
    return Verification(
        entries=walker.count,
        head=walker.head.hex(),
        checkpoints=len(checkpoints),
        checkpoints_verified=confirmed,
        referrals=len(walker.referral_heads),
        key_id=key_id(public),
        findings=tuple(findings),
    )
