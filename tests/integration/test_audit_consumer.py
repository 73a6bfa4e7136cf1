"""The ledger's own consumer on the real broker: every record of a topic is ledgered, the
unreadable ones too, and reading the topic again from the start adds nothing."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.audit.ledger_consumer import LedgerConsumer
from services.runtime.consumer import RetryPolicy
from services.runtime.db import create_pool
from tests.integration.runtime_fixtures import Schema, stop, temp_topic
from tests.integration.test_audit_support import event_bytes, ledger_schema
from tests.support.kafka import Sent, send, wait_committed
from tests.support.kafka_auth import access
from tests.support.provenance import this_runs_trust
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def consuming(schema: Schema, bootstrap: str, topic: str) -> AsyncIterator[str]:
    """A ledger consumer in a consumer group of its own (yielded), until the block ends."""
    pool: asyncpg.Pool[Any] = await create_pool(schema.dsn, min_size=1, max_size=2)
    group = f"audit-test-{uuid.uuid4().hex[:8]}"
    consumer = LedgerConsumer(
        access(bootstrap), group, [topic], this_runs_trust(), retry=RetryPolicy(5, 0.1, 1.0)
    )
    task = asyncio.create_task(consumer.run(pool), name="test-ledger-consumer")
    try:
        yield group
    finally:
        await stop(task)
        await pool.close()


async def _count(schema: Schema, table: str) -> int:
    return int(await schema.fetchval(f"SELECT count(*) FROM {table}"))


async def test_every_record_is_ledgered_once_whatever_it_holds(
    stack_env: dict[str, str],
) -> None:
    bootstrap = stack_env["HUB_KAFKA_BOOTSTRAP"]
    rid = uuid.uuid4()
    accepted = event_bytes("ReferralAccepted.v1", rid)
    values = [event_bytes("ReferralOpened.v2", rid), b"\xff\xfe garbage", accepted, accepted]
    async with ledger_schema(stack_env) as schema, temp_topic(bootstrap, 2) as topic:
        sent: list[Sent] = []
        sent += await send(bootstrap, topic, str(rid), values[:2])
        sent += await send(bootstrap, topic, "other-key", values[2:])
        async with consuming(schema, bootstrap, topic):

            async def all_seen() -> bool:
                total = await _count(schema, "ledger") + await _count(schema, "ledger_copies")
                return total == len(values)

            await eventually(all_seen, "every record ledgered")
        async with consuming(schema, bootstrap, topic) as group:  # re-reads from offset 0
            for last in (sent[1], sent[3]):
                await wait_committed(bootstrap, group, last)
        rows = await schema.fetch(
            'SELECT partition, "offset", type, parse_error FROM ledger ORDER BY position'
        )
        assert sorted((r["partition"], r["offset"]) for r in rows) == sorted(
            (s.partition, s.offset) for s in sent[:3]
        )
        assert {r["type"] for r in rows} == {"ReferralOpened", "ReferralAccepted", None}
        assert [r["parse_error"] for r in rows if r["type"] is None] == ["not_utf8"]
        assert await _count(schema, "ledger_copies") == 1, "the resend is a copy, not an entry"
