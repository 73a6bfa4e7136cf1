"""Batches on real PostgreSQL: a batch commits as one, and one bad record in it costs no
other record anything: each good one is handled once, in order, and the bad one is
dead-lettered as if it had come alone."""

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from referral_schemas import DEAD_LETTER, REFERRAL_EVENTS, Envelope

from services.runtime.batch import BatchProcessor
from services.runtime.clock import SystemClock
from services.runtime.consumer import HandlerContext, MessageProcessor, Outcome, RetryPolicy
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.inbox import claim_many
from services.runtime.outbox import OutgoingMessage
from tests.integration.runtime_fixtures import (
    ConsumerEnv,
    consumer_env,
    outbox_rows,
    record,
    sample_with_fresh_id,
)

pytestmark = pytest.mark.integration

CONSUMER = "svc/police.intelligence"
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_delay_s=0.001)


Env = ConsumerEnv


@pytest.fixture
async def env(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Env]:
    async with consumer_env(stack_env, tmp_path) as made:
        yield made


class EchoHandler:
    """Writes an effect row and publishes one message carrying the event id; refuses the
    events it is told to (a message for the dead-letter topic)."""

    def __init__(self, refuse: frozenset[uuid.UUID] = frozenset()) -> None:
        self.refuse = refuse
        self.seen: list[uuid.UUID] = []

    async def __call__(
        self, conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> Sequence[OutgoingMessage]:
        self.seen.append(envelope.id)
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, len(self.seen))
        if envelope.id in self.refuse:
            raise Rejection("unknown_intelligence", "no such ref")
        return [OutgoingMessage(REFERRAL_EVENTS, b"k", str(envelope.id).encode())]


def batch_processor(
    env: Env, handler: EchoHandler, event_types: frozenset[str] | None = None
) -> BatchProcessor:
    single = MessageProcessor(
        env.pool, CONSUMER, handler, SystemClock(), FAST, event_types, trust=None
    )
    return BatchProcessor(single)


async def effect_ids(env: Env) -> list[uuid.UUID]:
    rows = await env.schema.fetch("SELECT event_id FROM effects ORDER BY event_id")
    return sorted(r["event_id"] for r in rows)


async def published(env: Env) -> list[bytes]:
    return [r["value"] for r in await outbox_rows(env.schema) if r["topic"] == REFERRAL_EVENTS]


async def test_a_batch_is_handled_in_order_with_its_messages_in_the_outbox(env: Env) -> None:
    events = [sample_with_fresh_id() for _ in range(50)]
    handler = EchoHandler()

    outcomes = await batch_processor(env, handler).process_batch([record(v) for _, v in events])

    assert outcomes == [Outcome.HANDLED] * 50
    ids = [event_id for event_id, _ in events]
    assert await published(env) == [str(i).encode() for i in ids], "outbox keeps record order"
    assert await effect_ids(env) == sorted(ids)
    assert await env.schema.fetchval("SELECT count(*) FROM inbox") == 50


async def test_copies_in_a_batch_and_redelivered_batches_are_handled_once(env: Env) -> None:
    events = [sample_with_fresh_id() for _ in range(5)]
    handler = EchoHandler()
    consume = batch_processor(env, handler)
    records = [record(v) for _, v in events]
    # The relay re-published the second event: its copy arrives in the same batch.
    with_copy = [*records[:2], record(events[1][1]), *records[2:]]

    first = await consume.process_batch(with_copy)
    again = await consume.process_batch(records)  # the whole batch after a rebalance

    assert first == [Outcome.HANDLED] * 2 + [Outcome.DUPLICATE] + [Outcome.HANDLED] * 3
    assert again == [Outcome.DUPLICATE] * 5
    assert sorted(handler.seen) == sorted(event_id for event_id, _ in events)
    assert len(await published(env)) == 5


async def test_a_refused_record_in_a_batch_is_dead_lettered_and_the_rest_handled(
    env: Env,
) -> None:
    events = [sample_with_fresh_id() for _ in range(6)]
    bad_id = events[3][0]
    handler = EchoHandler(refuse=frozenset({bad_id}))

    outcomes = await batch_processor(env, handler).process_batch([record(v) for _, v in events])

    assert outcomes == [Outcome.HANDLED] * 3 + [Outcome.DEAD_LETTERED] + [Outcome.HANDLED] * 2
    good = [event_id for event_id, _ in events if event_id != bad_id]
    assert await effect_ids(env) == sorted(good), "the refused record's effects are undone"
    assert await published(env) == [str(i).encode() for i in good]
    [parked] = await env.schema.fetch("SELECT reason, event_id FROM dead_letters")
    assert (parked["reason"], parked["event_id"]) == ("unknown_intelligence", bad_id)
    assert [r["topic"] for r in await outbox_rows(env.schema)].count(DEAD_LETTER) == 1


async def test_unparseable_bytes_in_a_batch_are_dead_lettered_and_the_rest_handled(
    env: Env,
) -> None:
    events = [sample_with_fresh_id() for _ in range(3)]
    garbage = record(b'{"id": "not closed"')
    batch = [record(events[0][1]), garbage, record(events[1][1]), record(events[2][1])]

    outcomes = await batch_processor(env, EchoHandler()).process_batch(batch)

    assert outcomes == [Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.HANDLED, Outcome.HANDLED]
    assert await published(env) == [str(i).encode() for i, _ in events]
    reasons = [r["reason"] for r in await env.schema.fetch("SELECT reason FROM dead_letters")]
    assert reasons == ["not_json"]


async def test_types_a_consumer_ignores_cost_no_handling_and_no_inbox_row(env: Env) -> None:
    wanted_id, wanted = sample_with_fresh_id("IntelligenceSubmitted.v1")
    _, ignored = sample_with_fresh_id("IntelligenceWithdrawn.v1")
    handler = EchoHandler()
    consume = batch_processor(env, handler, frozenset({"IntelligenceSubmitted"}))

    outcomes = await consume.process_batch([record(ignored), record(wanted)])
    alone = await consume.process_batch([record(ignored)])

    assert (outcomes, alone) == ([Outcome.IGNORED, Outcome.HANDLED], [Outcome.IGNORED])
    assert handler.seen == [wanted_id]
    assert await env.schema.fetchval("SELECT count(*) FROM inbox") == 1


async def test_claiming_many_claims_each_new_id_once(env: Env) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await env.schema.connect()
    try:
        first = await claim_many(conn, CONSUMER, [a, b, a])
        second = await claim_many(conn, CONSUMER, [b, c])
        other_consumer = await claim_many(conn, "other/consumer", [a])
    finally:
        await conn.close()

    assert (first, second, other_consumer) == ({a, b}, {c}, {a})
