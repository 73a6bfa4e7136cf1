"""The session limits on real PostgreSQL: a transaction left open by a process that hangs
is ended by the server, so whoever waits on its locks goes on; the hung consumer's batch,
when it resumes, commits nothing and asks to be delivered again, and the redelivery is
handled once."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from referral_schemas import REFERRAL_EVENTS, Envelope

from services.runtime.batch import BatchInterrupted, BatchProcessor
from services.runtime.clock import SystemClock
from services.runtime.consumer import HandlerContext, MessageProcessor, Outcome, RetryPolicy
from services.runtime.db import Connection, SessionLimits, create_pool
from services.runtime.errors import TRANSIENT_ERRORS
from services.runtime.inbox import claim
from services.runtime.outbox import OutgoingMessage
from tests.integration.runtime_fixtures import (
    ConsumerEnv,
    consumer_env,
    record,
    sample_with_fresh_id,
)

pytestmark = pytest.mark.integration

CONSUMER = "svc/police.intelligence"
LIMITS = SessionLimits(idle_in_transaction_ms=300, lock_timeout_ms=10_000, statement_timeout_ms=0)
HANG_S = 1.5
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_delay_s=0.001)


@pytest.fixture
async def limited(
    stack_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[ConsumerEnv, "asyncpg.Pool[Any]"]]:
    async with consumer_env(stack_env, tmp_path) as env:
        pool = await create_pool(env.schema.dsn, min_size=1, max_size=4, limits=LIMITS)
        try:
            yield env, pool
        finally:
            await pool.close()


async def test_a_hung_transaction_is_ended_so_a_claim_waiting_on_it_goes_on(
    limited: tuple[ConsumerEnv, "asyncpg.Pool[Any]"],
) -> None:
    _, pool = limited
    message_id = uuid.uuid4()
    async with pool.acquire() as hung, pool.acquire() as healthy:
        tx = hung.transaction()
        await tx.start()
        assert await claim(hung, CONSUMER, message_id)
        # The holder now hangs; the other session's claim waits on its uncommitted row
        # only until the server ends the idle transaction.
        assert await asyncio.wait_for(claim(healthy, CONSUMER, message_id), 30)
        await asyncio.sleep(HANG_S)
        with pytest.raises(TRANSIENT_ERRORS):
            await hung.execute("SELECT 1")


class HangingHandler:
    """Writes an effect and publishes one message per event; on its first call it hangs
    (no statement sent) for longer than the idle-in-transaction limit."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self, conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> Sequence[OutgoingMessage]:
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(HANG_S)
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, self.calls)
        return [OutgoingMessage(REFERRAL_EVENTS, b"k", str(envelope.id).encode())]


async def test_a_batch_whose_transaction_was_ended_commits_nothing_and_is_redelivered(
    limited: tuple[ConsumerEnv, "asyncpg.Pool[Any]"],
) -> None:
    env, pool = limited
    events = [sample_with_fresh_id() for _ in range(5)]
    records = [record(value) for _, value in events]
    processor = BatchProcessor(
        MessageProcessor(pool, CONSUMER, HangingHandler(), SystemClock(), FAST, trust=None)
    )

    with pytest.raises(BatchInterrupted):
        await processor.process_batch(records)
    assert await env.schema.fetchval("SELECT count(*) FROM inbox") == 0, "no stale claims"
    assert await env.schema.fetchval("SELECT count(*) FROM effects") == 0
    assert await env.schema.fetchval("SELECT count(*) FROM outbox") == 0

    again = await processor.process_batch(records)  # the subscriber's redelivery

    assert again == [Outcome.HANDLED] * 5
    assert sorted(
        r["event_id"] for r in await env.schema.fetch("SELECT event_id FROM effects")
    ) == sorted(event_id for event_id, _ in events)
    assert await env.schema.fetchval("SELECT count(*) FROM outbox") == 5
