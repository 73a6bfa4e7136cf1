"""Replay's comparison of the ledger with the records it was built from: an untouched ledger
matches; an entry edited and the whole chain recomputed (which verify can only bracket
between two checkpoints) is named exactly; a forged entry and a record never ledgered are
reported. Written into an empty scratch schema, the rebuilt ledger and casework states
have the live tables' SQL-side digests, and a tampered row changes them."""

import dataclasses
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from referral_schemas.topics import DEAD_LETTER, POLICE_INTELLIGENCE

from services.audit import store
from services.audit.chain import build_chain
from services.audit.entries import VERIFIED, Provenance, RecordFacts, parse_record
from services.casework.domain import CaseState
from services.replay.folds import CaseworkReplay, LedgerReplay, Scope
from services.replay.run import LedgerComparison, compare_ledger
from services.replay.scratch import (
    Scratch,
    casework_digests,
    prepare,
    scratch_schema,
    tables_in,
    write_casework,
)
from tests.integration.runtime_fixtures import Schema, admin_dsn
from tests.integration.test_audit_support import (
    append,
    as_superuser_bypassing_triggers,
    ledger_schema,
    record,
    referral_records,
)
from tests.support.provenance import fed, this_runs_trust

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
    for item in RECORDS if records is None else records:
        fed(replay, item, this_runs_trust())
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


async def test_scratch_schema_is_created_empty_and_dropped_unless_kept(
    stack_env: dict[str, str],
) -> None:
    admin = admin_dsn(stack_env)
    async with scratch_schema(admin) as scratch:
        assert scratch.name.startswith("replay_")
        assert await _relations(stack_env, scratch.name) == 0
        conn = await scratch.connect()
        try:
            await prepare(conn)
        finally:
            await conn.close()
        assert await _relations(stack_env, scratch.name) > 0
    assert await _schema_exists(stack_env, scratch.name) is False
    async with scratch_schema(admin, keep=True) as kept:
        pass
    try:
        assert await _schema_exists(stack_env, kept.name) is True
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f"DROP SCHEMA {kept.name} CASCADE")
        finally:
            await conn.close()


async def test_the_rebuilt_ledger_in_a_scratch_schema_has_the_live_digest(
    ledger: Schema, stack_env: dict[str, str]
) -> None:
    async with scratch_schema(admin_dsn(stack_env)) as scratch:
        result = await _compare_into(ledger, scratch, Scope())
        assert result.same, result.differences
        assert result.live_digest
        assert result.rebuilt_digest == result.live_digest
        rows = await _count(scratch, "SELECT count(*) FROM ledger")
        assert rows == 12
    async with scratch_schema(admin_dsn(stack_env)) as scratch:
        one = await _compare_into(ledger, scratch, Scope(referral=RID))
        assert one.same, one.differences
        assert one.rebuilt_digest == one.live_digest
        assert await _count(scratch, "SELECT count(*) FROM ledger") == 5


async def test_records_gone_by_retention_are_taken_as_the_ledger_holds_them(
    ledger: Schema, stack_env: dict[str, str]
) -> None:
    """police.intelligence keeps its records 30 days: a replay after that finds the first
    ones gone, which is retention doing its job, not a ledger entry without a record."""
    gone = next(r for r in RECORDS if r.topic == POLICE_INTELLIGENCE)
    retained = {(POLICE_INTELLIGENCE, gone.partition): gone.offset + 1}
    left = [r for r in RECORDS if r is not gone]
    async with scratch_schema(admin_dsn(stack_env)) as scratch:
        result = await _compare_into(ledger, scratch, Scope(), left, retained)
    assert result.same, result.differences
    assert result.expired == 1
    assert result.matched_through == 12, "the chain still recomputes through every entry"
    assert result.rebuilt_digest == result.live_digest
    # Without retention to explain it, the same gap is a difference.
    async with scratch_schema(admin_dsn(stack_env)) as scratch:
        unexplained = await _compare_into(ledger, scratch, Scope(), left)
    assert not unexplained.same
    assert any("no such record on the topics" in d for d in unexplained.differences)


async def test_a_dead_letter_ledgered_before_the_ledger_stopped_reading_them_is_kept(
    stack_env: dict[str, str],
) -> None:
    """The ledger no longer reads hub.dead-letter (only the operator may), and neither does
    the replay: an entry ledgered from it earlier is taken as the ledger holds it, not
    reported missing, and its ``dead_letter`` (jsonb) is written by the replay's COPY as by
    the live append."""
    headers = (
        ("dlq.reason", b"not_json"),
        ("dlq.consumer", b"intake/police.intelligence"),
        ("dlq.source.topic", b"police.intelligence"),
        ("dlq.source.partition", b"3"),
        ("dlq.source.offset", b"41"),
    )
    refused = dataclasses.replace(record(DEAD_LETTER, b"{not json"), headers=headers)
    records = [*RECORDS, refused]
    async with ledger_schema(stack_env) as live, scratch_schema(admin_dsn(stack_env)) as scratch:
        await append(live, records)
        result = await _compare_into(live, scratch, Scope(), RECORDS)  # the topic unread
        assert result.same, result.differences
        assert result.expired == 1
        assert result.rebuilt_digest == result.live_digest
        conn = await scratch.connect()
        try:
            stored = await conn.fetchval(
                "SELECT dead_letter FROM ledger WHERE topic = $1", DEAD_LETTER
            )
        finally:
            await conn.close()
    assert stored == {
        "reason": "not_json",
        "consumer": "intake/police.intelligence",
        "source_topic": "police.intelligence",
        "source_partition": 3,
        "source_offset": 41,
    }


async def test_a_tampered_ledger_digest_differs_from_the_rebuilt_one(
    ledger: Schema, stack_env: dict[str, str]
) -> None:
    async with as_superuser_bypassing_triggers(ledger) as conn:
        await conn.execute("UPDATE ledger SET purpose = 'tampered' WHERE position = 10")
    async with scratch_schema(admin_dsn(stack_env)) as scratch:
        result = await _compare_into(ledger, scratch, Scope())
    assert not result.same
    assert result.rebuilt_digest != result.live_digest


async def test_casework_states_written_with_casework_store_digest_alike(
    stack_env: dict[str, str],
) -> None:
    """The same state saved in two schemas has the same SQL digest; a changed one differs."""
    states = _folded_states()
    admin = admin_dsn(stack_env)
    async with scratch_schema(admin) as live, scratch_schema(admin) as rebuilt:
        for scratch, saved in ((live, states), (rebuilt, states)):
            conn = await scratch.connect()
            try:
                await prepare(conn)
                await write_casework(conn, saved)
            finally:
                await conn.close()
        live_digests, live_overall = await _digests(live)
        rebuilt_digests, rebuilt_overall = await _digests(rebuilt)
        assert live_digests == rebuilt_digests
        assert len(live_digests) == 2
        assert live_overall == rebuilt_overall
        conn = await rebuilt.connect()
        try:
            held = dataclasses.replace(states[0].lifecycle, held=not states[0].held)
            changed = states[0].model_copy(update={"lifecycle": held})
            await write_casework(conn, [changed])
        finally:
            await conn.close()
        changed_digests, changed_overall = await _digests(rebuilt)
        assert changed_overall != live_overall
        assert changed_digests[states[0].referral_id] != live_digests[states[0].referral_id]


def _folded_states() -> list[CaseState]:
    replay = CaseworkReplay(Scope())
    for rid in (uuid.uuid4(), uuid.uuid4()):
        for item in referral_records(rid):  # as if each came signed by its producer
            replay.feed(item, parse_record(item.value), Provenance("casework", VERIFIED))
    return list(replay.states.values())


async def _digests(scratch: Scratch) -> tuple[dict[uuid.UUID, str], str]:
    conn = await scratch.connect()
    try:
        return await casework_digests(conn)
    finally:
        await conn.close()


async def _compare_into(
    ledger: Schema,
    scratch: Scratch,
    scope: Scope,
    records: list[RecordFacts] = RECORDS,
    first_retained: dict[tuple[str, int], int] | None = None,
) -> LedgerComparison:
    replay = LedgerReplay(scope, first_retained=first_retained or {})
    for item in records:
        fed(replay, item, this_runs_trust())
    conn, work = await ledger.connect(), await scratch.connect()
    try:
        await prepare(work)
        return await compare_ledger(conn, replay, work)
    finally:
        await conn.close()
        await work.close()


async def _count(scratch: Scratch, sql: str) -> int:
    conn = await scratch.connect()
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _relations(stack_env: dict[str, str], schema: str) -> int:
    conn = await asyncpg.connect(admin_dsn(stack_env))
    try:
        return await tables_in(conn, schema)
    finally:
        await conn.close()


async def _schema_exists(stack_env: dict[str, str], schema: str) -> bool:
    conn = await asyncpg.connect(admin_dsn(stack_env))
    try:
        found = await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema)
        return found is not None
    finally:
        await conn.close()
