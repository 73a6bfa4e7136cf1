"""Replay's comparison of the ledger with the records it was built from: an untouched ledger
matches; an entry edited and the whole chain recomputed (which verify can only bracket
between two checkpoints) is named exactly; a forged entry and a record never ledgered are
reported."""

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest

from services.audit import store
from services.audit.chain import build_chain
from services.audit.entries import RecordFacts
from services.audit.replay import LedgerReplay, Scope
from services.audit.replay_run import LedgerComparison, compare_ledger
from tests.integration.runtime_fixtures import Schema
from tests.integration.test_audit_support import (
    append,
    as_superuser_bypassing_triggers,
    ledger_schema,
    referral_records,
)

pytestmark = pytest.mark.integration
RID = uuid.uuid4()
RECORDS = referral_records(uuid.uuid4()) + referral_records(RID)


@pytest.fixture
async def ledger(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    async with ledger_schema(stack_env) as schema:
        await append(schema, RECORDS)
        yield schema


async def _compare(
    schema: Schema, scope: Scope, records: list[RecordFacts] | None = None
) -> LedgerComparison:
    replay = LedgerReplay(scope)
    for record in RECORDS if records is None else records:
        replay.feed(record)
    conn = await schema.connect()
    try:
        return await compare_ledger(conn, replay)
    finally:
        await conn.close()


async def test_an_untouched_ledger_is_what_its_records_rebuild(ledger: Schema) -> None:
    result = await _compare(ledger, Scope())
    assert result.same, result.differences
    assert (result.entries_compared, result.matched_through) == (12, 12)
    one = await _compare(ledger, Scope(referral=RID))
    assert one.same, one.differences
    assert one.entries_compared == 5, "its own entries (not the unreadable intelligence)"


async def test_an_edit_hidden_by_a_recomputed_chain_is_named_exactly(ledger: Schema) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        async with conn.transaction():
            entries = [e async for e in store.iter_entries(conn)]
        contents = [e.content for e in entries]
        contents[8] = dataclasses.replace(contents[8], actor="user:forger")
        for entry in build_chain(contents):
            await conn.execute(
                "UPDATE ledger SET actor = $2, hash = $3, prev_hash = $4 WHERE position = $1",
                entry.position,
                entry.content.actor,
                entry.hash,
                entry.prev_hash,
            )
    result = await _compare(ledger, Scope())
    assert result.matched_through == 8
    assert result.differences[0].startswith("entry 9: differs from")
    assert "actor" in result.differences[0]


async def test_forged_entries_and_missing_records_are_reported(ledger: Schema) -> None:
    unledgered = referral_records(RID)[:1]
    result = await _compare(ledger, Scope(), [*RECORDS[:-1], *unledgered])
    assert "entry 12: no such record on the topics" in result.differences
    assert any(d.endswith("not in the ledger") for d in result.differences)
