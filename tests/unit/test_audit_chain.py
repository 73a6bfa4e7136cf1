"""The chains name the first bad entry of a tampered ledger, and signed checkpoints catch
what a consistent chain cannot: a recomputed chain and a truncated tail."""

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit.chain import GENESIS, LedgerEntry, build_chain, make_entry, walk
from services.audit.entries import EntryContent
from services.audit.signing import SigningKey, sign_checkpoint, statement_digest
from services.audit.verification import Verification, conclude

pytestmark = pytest.mark.unit
RID_A, RID_B = uuid.uuid4(), uuid.uuid4()
KEY = SigningKey(Ed25519PrivateKey.generate())


def _content(n: int) -> EntryContent:
    return EntryContent(
        topic="referral.events",
        partition=n % 3,
        offset=n,
        record_timestamp_ms=1_700_000_000_000 + n,
        key_sha256=None,
        value_sha256=f"{n:064x}",
        value_bytes=100 + n,
        event_id=uuid.UUID(int=n),
        type="ReferralAccepted",
        actor=f"user:worker-{n}",
        referral_id=RID_A if n % 2 else RID_B,
        category="alteration",
    )


def _ledger(size: int = 8) -> list[LedgerEntry]:
    return build_chain(_content(n) for n in range(1, size + 1))


def _renumber(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    return [dataclasses.replace(e, position=i) for i, e in enumerate(entries, start=1)]


def _check(
    entries: list[LedgerEntry], checkpoints: list[AuditCheckpoint] | None = None
) -> Verification:
    checkpoints = checkpoints or []
    where = {e.hash: e.position for e in entries}
    walker = walk(entries, where.get, frozenset(cp.count for cp in checkpoints))
    return conclude(walker, checkpoints, KEY.public)


def _finding(entries: list[LedgerEntry]) -> tuple[int | None, str]:
    result = _check(entries)
    assert not result.ok
    first = result.findings[0]
    return first.position, first.reason


def _checkpoints(entries: list[LedgerEntry], *counts: int) -> list[AuditCheckpoint]:
    signed: list[AuditCheckpoint] = []
    for sequence, count in enumerate(counts, start=1):
        signed.append(
            sign_checkpoint(
                KEY,
                sequence=sequence,
                count=count,
                head=entries[count - 1].hash.hex(),
                signed_at=datetime(2025, 1, 1, tzinfo=UTC),
                previous=statement_digest(signed[-1]) if signed else None,
            )
        )
    return signed


def test_an_untouched_ledger_verifies_with_its_checkpoints() -> None:
    entries = _ledger()
    result = _check(entries, _checkpoints(entries, 3, 8))
    assert result.ok, result.findings
    assert (result.entries, result.checkpoints_verified, result.referrals) == (8, 2, 2)
    assert result.head == entries[-1].hash.hex()


def test_an_edited_entry_is_named() -> None:
    entries = _ledger()
    changed = dataclasses.replace(entries[4].content, actor="user:someone-else")
    entries[4] = dataclasses.replace(entries[4], content=changed)
    assert _finding(entries) == (5, "altered")


def test_a_deleted_entry_is_a_gap() -> None:
    entries = _ledger()
    del entries[3]
    assert _finding(entries) == (4, "gap")


def test_a_deleted_entry_with_the_rest_renumbered_is_still_found() -> None:
    entries = _ledger()
    del entries[3]
    assert _finding(_renumber(entries)) == (4, "gap")


def test_two_swapped_entries_are_reported_as_reordered() -> None:
    entries = _ledger()
    entries[2], entries[3] = entries[3], entries[2]
    assert _finding(_renumber(entries)) == (3, "reordered")


def test_an_inserted_entry_is_named() -> None:
    entries = _ledger()
    forged = make_entry(4, entries[2].hash, _content(99), None)
    tampered = _renumber([*entries[:3], forged, *entries[3:]])
    assert _finding(tampered) == (4, "inserted")


def test_an_entry_rewritten_with_a_fresh_hash_is_named() -> None:
    entries = _ledger()
    changed = dataclasses.replace(entries[4].content, type="ReferralDeclined")
    entries[4] = make_entry(5, entries[3].hash, changed, entries[4].referral_prev_hash)
    assert _finding(entries) == (5, "rewritten")


def test_a_recomputed_chain_is_caught_by_the_signed_checkpoint() -> None:
    original = _ledger()
    checkpoints = _checkpoints(original, 2, 6)
    contents = [e.content for e in original]
    contents[3] = dataclasses.replace(contents[3], actor="user:forger")
    recomputed = build_chain(contents)
    assert _check(recomputed).ok, "the chain alone cannot tell"
    result = _check(recomputed, checkpoints)
    assert (result.findings[0].position, result.findings[0].reason) == (3, "rewritten")
    assert result.first_bad_entry == 3


def test_a_truncated_tail_is_caught_by_the_signed_checkpoint() -> None:
    entries = _ledger()
    checkpoints = _checkpoints(entries, 8)
    result = _check(entries[:5], checkpoints)
    assert (result.findings[0].position, result.findings[0].reason) == (6, "missing_tail")


def test_a_forged_checkpoint_is_refused() -> None:
    entries = _ledger()
    forger = SigningKey(Ed25519PrivateKey.generate())
    forged = sign_checkpoint(
        forger,
        sequence=1,
        count=8,
        head=entries[-1].hash.hex(),
        signed_at=datetime(2025, 1, 1, tzinfo=UTC),
        previous=None,
    )
    assert _check(entries, [forged]).findings[0].reason == "checkpoint_signature"


def test_a_deleted_checkpoint_breaks_the_checkpoint_sequence() -> None:
    entries = _ledger()
    first, _, third = _checkpoints(entries, 2, 4, 8)
    assert _check(entries, [first, third]).findings[0].reason == "checkpoint_missing"


def test_a_broken_referral_chain_is_named() -> None:
    entries = _ledger()
    entries[5] = dataclasses.replace(entries[5], referral_prev_hash=GENESIS)
    assert _finding(entries) == (6, "referral_chain")
