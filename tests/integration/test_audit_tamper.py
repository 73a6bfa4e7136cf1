"""`hub audit verify` on the real database after a superuser (who can disable the triggers)
edits, deletes, reorders, inserts or truncates: each is detected and the first bad entry is
named. A chain recomputed after an edit is caught by the signed checkpoints."""

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import store
from services.audit.chain import build_chain, make_entry
from services.audit.checkpoints import make_checkpoint
from services.audit.entries import describe
from services.audit.signing import SigningKey
from services.audit.verification import Verification, verify_database
from services.runtime.clock import SystemClock
from tests.integration.runtime_fixtures import Schema
from tests.integration.test_audit_support import (
    append,
    as_superuser_bypassing_triggers,
    ledger_schema,
    referral_records,
)

pytestmark = pytest.mark.integration
KEY = SigningKey(Ed25519PrivateKey.generate())
_PARK = 1_000_000  # moves rows out of the way: positions are unique at every statement


@pytest.fixture
async def ledger(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    """16 entries about three referrals, with signed checkpoints at 4 and 16 entries."""
    async with ledger_schema(stack_env) as schema:
        conn = await schema.connect()
        try:
            await append(schema, referral_records(uuid.uuid4())[:4])
            assert await make_checkpoint(conn, KEY, SystemClock()) is not None
            await append(schema, referral_records(uuid.uuid4()) + referral_records(uuid.uuid4()))
            assert await make_checkpoint(conn, KEY, SystemClock()) is not None
        finally:
            await conn.close()
        yield schema


async def _verify(schema: Schema) -> Verification:
    conn = await schema.connect()
    try:
        return await verify_database(conn, KEY.public)
    finally:
        await conn.close()


async def _first(schema: Schema) -> tuple[int | None, str]:
    result = await _verify(schema)
    assert not result.ok, "tampering went unnoticed"
    return result.findings[0].position, result.findings[0].reason


async def test_an_untouched_ledger_verifies(ledger: Schema) -> None:
    result = await _verify(ledger)
    assert result.ok, result.findings
    assert (result.entries, result.checkpoints_verified) == (16, 2)


async def test_an_edited_entry_is_named(ledger: Schema) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        await conn.execute("UPDATE ledger SET actor = 'user:forger' WHERE position = 7")
    assert await _first(ledger) == (7, "altered")


async def test_a_deleted_entry_is_named(ledger: Schema) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        await conn.execute("DELETE FROM ledger WHERE position = 9")
    assert await _first(ledger) == (9, "gap")


async def test_reordered_entries_are_named(ledger: Schema) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        await conn.execute(f"UPDATE ledger SET position = {_PARK} WHERE position = 5")
        await conn.execute("UPDATE ledger SET position = 5 WHERE position = 6")
        await conn.execute(f"UPDATE ledger SET position = 6 WHERE position = {_PARK}")
    assert await _first(ledger) == (5, "reordered")


async def test_an_inserted_entry_is_named(ledger: Schema) -> None:
    forged_record = referral_records(uuid.uuid4())[1]
    async with as_superuser_bypassing_triggers(ledger) as conn:
        previous = await conn.fetchval("SELECT hash FROM ledger WHERE position = 10")
        await conn.execute(f"UPDATE ledger SET position = position + {_PARK} WHERE position > 10")
        await conn.execute(
            f"UPDATE ledger SET position = position - {_PARK - 1} WHERE position > {_PARK}"
        )
        async with conn.transaction():
            # The forger chains the new entry correctly to the one before it.
            forged = make_entry(11, bytes(previous), describe(forged_record), None)
            await store.insert_entry(conn, "forged", forged)
    assert await _first(ledger) == (11, "inserted")


async def test_a_truncated_tail_is_caught_by_the_checkpoint(ledger: Schema) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        await conn.execute("DELETE FROM ledger WHERE position > 13")
    assert await _first(ledger) == (14, "missing_tail")


async def test_a_chain_recomputed_after_an_edit_is_caught_by_the_checkpoint(
    ledger: Schema,
) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        async with conn.transaction():
            entries = [e async for e in store.iter_entries(conn)]
        contents = [e.content for e in entries]
        contents[7] = dataclasses.replace(contents[7], actor="user:forger")
        for entry in build_chain(contents):
            await conn.execute(
                """UPDATE ledger SET actor = $2, prev_hash = $3, hash = $4,
                          referral_prev_hash = $5, referral_hash = $6 WHERE position = $1""",
                entry.position,
                entry.content.actor,
                entry.prev_hash,
                entry.hash,
                entry.referral_prev_hash,
                entry.referral_hash,
            )
    result = await _verify(ledger)
    assert [(f.position, f.reason) for f in result.findings] == [(5, "rewritten")]
    assert result.checkpoints_verified == 1
    assert "5 to 16" in result.findings[0].detail
