"""One contract, two stores: the auditors' PostgreSQL store and the in-memory fake the
use-case tests run on answer alike, on the same ledger (the in-memory one is given the
entries, and the times, the database ledgered)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas.topics import ACCESS_EVENTS, POLICE_INTELLIGENCE

from services.audit import store as ledger
from services.audit.auditor_store import (
    AuditorStore,
    ExportScope,
    InMemoryAuditorStore,
    PgAuditorStore,
)
from services.audit.chain import LedgerEntry
from services.audit.signing import SigningKey
from services.runtime.db import create_pool
from services.runtime.outbox import OutgoingMessage
from tests.integration.test_audit_support import (
    append,
    event_bytes,
    ledger_schema,
    record,
    referral_records,
)

pytestmark = pytest.mark.integration
EARLY, LATE = uuid.uuid4(), uuid.uuid4()
MESSAGE = OutgoingMessage(ACCESS_EVENTS, b"key", b"{}")
SUBMITTED = "IntelligenceSubmitted.v1"
"""The intelligence both referrals' samples are opened from: its collection has no referral."""
PUBLIC = SigningKey(Ed25519PrivateKey.generate()).public


@dataclass
class Ledger:
    store: AuditorStore
    entries: list[LedgerEntry]
    between: datetime
    """After EARLY's entries were ledgered, before LATE's."""
    recorded: Callable[[], Awaitable[int]]
    """How many messages the outbox holds."""


@pytest.fixture(params=["in-memory", "postgres"])
async def given(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> AsyncIterator[Ledger]:
    async with ledger_schema(stack_env) as schema:
        await append(schema, [record(POLICE_INTELLIGENCE, event_bytes(SUBMITTED), None)])
        await append(schema, referral_records(EARLY))
        await asyncio.sleep(0.05)
        between = await schema.fetchval("SELECT clock_timestamp()")
        await asyncio.sleep(0.05)
        await append(schema, referral_records(LATE))
        conn = await schema.connect()
        try:
            async with conn.transaction():
                entries = [e async for e in ledger.iter_entries(conn)]
            times = await conn.fetch("SELECT ledgered_at FROM ledger ORDER BY position")
        finally:
            await conn.close()
        if request.param == "in-memory":
            fake = InMemoryAuditorStore()
            for entry, row in zip(entries, times, strict=True):
                fake.add(entry, row["ledgered_at"])

            async def in_outbox() -> int:
                return len(fake.outbox)

            yield Ledger(fake, entries, between, in_outbox)
            return
        pool = await create_pool(schema.dsn, min_size=1, max_size=2)

        async def outbox_rows() -> int:
            return int(await schema.fetchval("SELECT count(*) FROM outbox"))

        try:
            yield Ledger(PgAuditorStore(pool), entries, between, outbox_rows)
        finally:
            await pool.close()


async def test_a_referrals_entries_come_with_its_intelligences_collection(given: Ledger) -> None:
    found = await given.store.referral_entries(EARLY)
    [collection] = [e for e in found if e.content.referral_id is None]

    assert found == [e for e in given.entries if e in found], "in ledger order"
    assert len(found) == 6
    assert collection.content.topic == POLICE_INTELLIGENCE
    assert await given.store.referral_entries(uuid.uuid4()) == []


async def test_the_period_search_counts_and_pages_alike(given: Ledger) -> None:
    total, page = await given.store.referrals_in_period(None, None, limit=1, offset=0)
    _, rest = await given.store.referrals_in_period(None, None, limit=5, offset=1)
    early_total, early = await given.store.referrals_in_period(
        None, given.between, limit=5, offset=0
    )
    later = given.between + timedelta(days=1)
    nothing = await given.store.referrals_in_period(later, None, limit=5, offset=0)

    assert total == 2
    assert [a.referral_id for a in page + rest] == [LATE, EARLY], "most recently active first"
    assert (early_total, [a.referral_id for a in early]) == (1, [EARLY])
    assert (early[0].entries, early[0].consultations) == (5, 1)
    assert early[0].first_at <= early[0].last_at < given.between
    assert nothing == (0, [])


async def test_an_export_gathers_the_same_entries(given: Ledger) -> None:
    one = await given.store.gather(ExportScope(referral=LATE), records=None)
    since = await given.store.gather(ExportScope(start=given.between), records=None)
    before = await given.store.gather(ExportScope(end=given.between), records=None)
    nothing = await given.store.gather(
        ExportScope(start=datetime(2020, 1, 1, tzinfo=UTC), end=datetime(2020, 1, 2, tzinfo=UTC)),
        records=None,
    )

    assert one.scope == {"referral_id": str(LATE)}
    assert one.entries == await given.store.referral_entries(LATE)
    assert since.entries == [e for e in given.entries if e.position > len(before.entries)]
    assert before.entries + since.entries == given.entries
    assert nothing.entries == []
    assert one.ledger_count == len(given.entries)
    assert one.ledger_head == given.entries[-1].hash.hex()
    assert one.checkpoint is None


async def test_the_verification_recomputes_the_chain(given: Ledger) -> None:
    result = await given.store.verify(PUBLIC)

    assert result.ok
    assert result.entries == len(given.entries)
    assert result.head == given.entries[-1].hash.hex()
    assert result.referrals == 2
    assert sum(count for _, count in result.producers) == len(given.entries)


async def test_what_is_recorded_commits_with_its_transaction_or_not_at_all(
    given: Ledger,
) -> None:
    async def refused() -> None:
        async with given.store.transaction():
            await given.store.record([MESSAGE])
            raise RuntimeError("refused")

    async with given.store.transaction():
        await given.store.record([MESSAGE, MESSAGE])
    with pytest.raises(RuntimeError, match="refused"):
        await refused()

    assert await given.recorded() == 2
