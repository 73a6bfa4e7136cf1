"""The outbox relay against the real broker and database: every committed row reaches Kafka,
in order per key, with its headers, exactly once while one relay leads; a standby relay takes
over when the leader stops, or hangs (then the resumed leader marks nothing: its lease's
epoch is over); NOTIFY wakes it without waiting for the poll."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.runtime.dead_letter import dead_letter
from services.runtime.kafka_clients import MAX_REQUEST_BYTES
from services.runtime.outbox import OutgoingMessage, enqueue
from services.runtime.provenance import KID_HEADER, SIG_HEADER, EventSigner, TrustStore
from services.runtime.relay import OutboxRelay
from tests.integration.runtime_fixtures import (
    CountingProducer,
    Schema,
    StallingProducer,
    fresh_schema,
    kafka_producer,
    migrate,
    record,
    relay_is_leading,
    running,
    stop,
    temp_topic,
)
from tests.support.kafka import Record, TopicWatch, watch
from tests.support.provenance import signer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

KEYS = 10
CONTENT_TYPE = ("content-type", b"application/cloudevents+json")
BINARY = ("trace", b"\x00\x01\xfe\xff")


@dataclass(frozen=True)
class Env:
    schema: Schema
    topic: str
    bootstrap: str
    signer: EventSigner
    trust: TrustStore


@pytest.fixture
async def env(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    bootstrap = stack_env["HUB_KAFKA_BOOTSTRAP"]
    async with fresh_schema(stack_env) as schema, temp_topic(bootstrap, partitions=3) as topic:
        await migrate(schema, "svc", tmp_path_factory.mktemp("no-migrations"))
        trust = TrustStore(Path(stack_env["HUB_TRUST_STORE"]))
        yield Env(schema, topic, bootstrap, signer(stack_env, "intake"), trust)


@pytest.fixture
async def producer(env: Env) -> AsyncIterator[AIOKafkaProducer]:
    async with kafka_producer(env.bootstrap, "rt-test-relay") as started:
        yield started


def key_of(seq: int) -> bytes:
    return f"referral-{seq % KEYS}".encode()


async def enqueue_rows(env: Env, seqs: Iterable[int], per_transaction: int = 10) -> None:
    """Commit one outbox row per seq, ``per_transaction`` rows per commit."""
    conn = await env.schema.connect()
    try:
        batch: list[OutgoingMessage] = []
        for seq in seqs:
            headers = (CONTENT_TYPE, ("seq", str(seq).encode()), BINARY)
            batch.append(OutgoingMessage(env.topic, key_of(seq), b"event-%d" % seq, headers))
            if len(batch) == per_transaction:
                async with conn.transaction():
                    await enqueue(conn, batch)
                batch = []
        if batch:
            async with conn.transaction():
                await enqueue(conn, batch)
    finally:
        await conn.close()


def seq_of(record: Record) -> int:
    return int(record.headers["seq"])


async def arrive(seen: TopicWatch, count: int) -> list[Record]:
    """Wait for ``count`` records, then read on until the topic is quiet: all that came."""
    await seen.wait_for(lambda _: True, count)
    return sorted(await seen.drain(), key=lambda r: (r.partition, r.offset))


async def outbox_empties(schema: Schema) -> None:
    async def empty() -> bool:
        return bool(await schema.fetchval("SELECT count(*) FROM outbox") == 0)

    await eventually(empty, "the relay deletes what it published")


async def test_every_row_is_published_once_in_order_per_key_with_headers(
    env: Env, producer: AIOKafkaProducer
) -> None:
    await enqueue_rows(env, range(300))
    relay = OutboxRelay(env.schema.dsn, producer, env.signer, batch_size=64, poll_interval_s=0.2)

    async with watch(env.bootstrap, env.topic) as seen, running(relay):
        records = await arrive(seen, 300)
        await outbox_empties(env.schema)

    assert sorted(seq_of(r) for r in records) == list(range(300))
    for key in {key_of(seq) for seq in range(300)}:
        of_key = [r for r in records if r.key == key]
        assert len({r.partition for r in of_key}) == 1, "one key, one partition"
        assert [seq_of(r) for r in of_key] == sorted(seq_of(r) for r in of_key)
    for r in records:
        assert r.value == b"event-%d" % seq_of(r)
        assert r.headers == {
            CONTENT_TYPE[0]: CONTENT_TYPE[1],
            "seq": r.headers["seq"],
            BINARY[0]: BINARY[1],
            KID_HEADER: r.headers[KID_HEADER],
            SIG_HEADER: r.headers[SIG_HEADER],
        }
        verdict = env.trust.verify(env.topic, r.key, r.value, list(r.headers.items()))
        assert verdict.producer == "intake", "published signed by the service's own key"
    assert relay.published == 300


async def test_a_standby_relay_publishes_nothing_until_the_leader_stops(
    env: Env, producer: AIOKafkaProducer
) -> None:
    leader = OutboxRelay(env.schema.dsn, producer, env.signer, batch_size=25, poll_interval_s=0.1)
    async with kafka_producer(env.bootstrap, "rt-test-standby") as other_producer:
        standby = OutboxRelay(
            env.schema.dsn, other_producer, env.signer, batch_size=25, poll_interval_s=0.1
        )
        async with watch(env.bootstrap, env.topic) as seen, running(leader) as leader_task:
            await eventually(lambda: relay_is_leading(env.schema), "the first relay leads")
            async with running(standby) as standby_task:
                await enqueue_rows(env, range(100))
                before = await arrive(seen, 100)
                await outbox_empties(env.schema)
                assert (leader.published, standby.published) == (100, 0)

                await stop(leader_task)
                await enqueue_rows(env, range(100, 200))
                after = await arrive(seen, 200)
                await outbox_empties(env.schema)
                assert not standby_task.done()

    assert sorted(seq_of(r) for r in before) == list(range(100))
    assert sorted(seq_of(r) for r in after) == list(range(200)), "nothing lost or doubled"
    assert (leader.published, standby.published) == (100, 100)


async def test_rows_committed_later_wake_the_relay_without_a_poll(
    env: Env, producer: AIOKafkaProducer
) -> None:
    # The poll would come only after an hour: whatever arrives sooner was woken by NOTIFY.
    relay = OutboxRelay(env.schema.dsn, producer, env.signer, poll_interval_s=3600)

    async with watch(env.bootstrap, env.topic) as seen, running(relay):
        await eventually(lambda: relay_is_leading(env.schema), "the relay leads")
        for round_ in range(5):
            seqs = range(round_ * 3, round_ * 3 + 3)
            await enqueue_rows(env, seqs, per_transaction=1)
            await seen.wait_for(lambda _: True, count=seqs.stop)
        records = await arrive(seen, 15)

    assert sorted(seq_of(r) for r in records) == list(range(15))
    assert relay.published == 15


async def test_a_relay_stopped_mid_batch_loses_nothing(
    env: Env, producer: AIOKafkaProducer
) -> None:
    await enqueue_rows(env, range(300), per_transaction=100)
    stalling = StallingProducer(producer, stall_at=15)
    first = OutboxRelay(env.schema.dsn, stalling, env.signer, batch_size=10, poll_interval_s=0.1)
    second = OutboxRelay(env.schema.dsn, producer, env.signer, batch_size=10, poll_interval_s=0.1)

    async with watch(env.bootstrap, env.topic) as seen:
        async with running(first) as first_task:
            await asyncio.wait_for(stalling.stalled.wait(), 60)
            await stop(first_task)
        async with running(second):
            await outbox_empties(env.schema)
            records = await arrive(seen, 300)

    # The interrupted batch may go out twice (consumers drop copies by id); nothing is lost.
    seqs = [seq_of(r) for r in records]
    assert set(seqs) == set(range(300))
    assert {s for s in seqs if seqs.count(s) > 1} <= set(range(10, 20))
    assert (first.published, second.published) == (10, 290)


async def test_a_relay_waiting_on_the_database_stops_when_cancelled(
    env: Env, producer: AIOKafkaProducer
) -> None:
    await enqueue_rows(env, range(10))
    locker = await env.schema.connect()
    try:
        tx = locker.transaction()
        await tx.start()
        await locker.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
        relay = OutboxRelay(env.schema.dsn, producer, env.signer, poll_interval_s=0.1)
        task = asyncio.create_task(relay.run(), name="blocked-relay")

        async def relay_blocked() -> bool:
            waiting = await env.schema.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND query LIKE '%FROM outbox ORDER BY id%'"""
            )
            return bool(waiting)

        await eventually(relay_blocked, "the relay waits for the locked outbox")
        # A service shutting down while its database is slow must not hang.
        await stop(task)
        await tx.rollback()
    finally:
        await locker.close()

    assert relay.published == 0
    assert await env.schema.fetchval("SELECT count(*) FROM outbox") == 10


async def test_a_row_kafka_refuses_does_not_hold_back_the_rows_behind_it(
    env: Env, producer: AIOKafkaProducer
) -> None:
    huge = record(b"{" + b" " * (MAX_REQUEST_BYTES + 1024) + b"}")
    conn = await env.schema.connect()
    try:
        await dead_letter(
            conn,
            huge,
            consumer="svc/t",
            message_id=uuid.uuid4(),
            reason="too_large",
            detail="too large",
            event_id=None,
        )
        await enqueue(conn, [OutgoingMessage(env.topic, b"referral-1", b"next event")])
    finally:
        await conn.close()
    counting = CountingProducer(producer)
    relay = OutboxRelay(env.schema.dsn, counting, env.signer, poll_interval_s=0.05)

    async with running(relay):

        async def tried_enough() -> bool:
            return b"next event" in counting.tried or counting.tried.count(huge.value) >= 3

        await eventually(tried_enough, "the relay tries the refused row repeatedly")

    assert b"next event" in counting.tried, "the next event is stuck behind the refused row"


LEASE_S = 1.0


async def test_a_standby_replaces_a_hung_leader_which_marks_nothing_when_it_resumes(
    env: Env,
    producer: AIOKafkaProducer,
) -> None:
    await enqueue_rows(env, range(100))
    stalling = StallingProducer(producer, stall_at=15)
    hung = OutboxRelay(
        env.schema.dsn, stalling, env.signer, batch_size=10, poll_interval_s=0.1, lease_s=LEASE_S
    )
    async with kafka_producer(env.bootstrap, "rt-test-standby") as other_producer:
        standby = OutboxRelay(
            env.schema.dsn,
            other_producer,
            env.signer,
            batch_size=10,
            poll_interval_s=0.1,
            lease_s=LEASE_S,
        )
        async with watch(env.bootstrap, env.topic) as seen, running(hung) as hung_task:
            await stalling.stalled.wait()
            async with running(standby):
                # The leader still hangs mid-batch; the standby takes over and drains.
                await outbox_empties(env.schema)
                await enqueue_rows(env, range(100, 200))
                await outbox_empties(env.schema)
                assert not hung_task.done()
                assert standby.leading  # the hung one does not know yet
                holder = await env.schema.fetchval(
                    "SELECT holder FROM relay_lease WHERE expires_at > now()"
                )
                assert holder == standby.holder

                stalling.release.set()  # the hung leader resumes where it stopped

                async def stepped_down() -> bool:
                    return hung.published == 10 and not hung.leading

                await eventually(stepped_down, "the resumed leader finds it lost the lease")
                await enqueue_rows(env, range(200, 250))
                records = await arrive(seen, 250)
                await outbox_empties(env.schema)
                assert standby.leading
                assert not hung_task.done()

    seqs = [seq_of(r) for r in records]
    assert set(seqs) == set(range(250)), "nothing lost"
    assert {s for s in seqs if seqs.count(s) > 1} <= set(range(10, 20)), (
        "only the batch the leader hung in may go out twice"
    )
    assert hung.published == 10, "the resumed leader marked nothing after it lost the lease"
    assert standby.published == 240
