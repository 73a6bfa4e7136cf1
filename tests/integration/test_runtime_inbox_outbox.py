"""The inbox and the outbox on real PostgreSQL: a message is claimed once per consumer, and
outgoing messages exist (and wake the relay) only if their transaction commits."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.runtime.inbox import claim
from services.runtime.outbox import OutgoingMessage, enqueue
from tests.integration.runtime_fixtures import (
    Schema,
    fresh_schema,
    migrate,
    outbox_rows,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

CONSUMER = "svc/police.intelligence"
SENTINEL = "sentinel"


@pytest.fixture
async def schema(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Schema]:
    async with fresh_schema(stack_env) as created:
        await migrate(created, "svc", tmp_path)
        yield created


@pytest.fixture
async def conn(schema: Schema) -> AsyncIterator[asyncpg.Connection]:
    connection = await schema.connect()
    yield connection
    await connection.close()


async def test_a_message_is_claimed_once_per_consumer(conn: asyncpg.Connection) -> None:
    message = uuid.uuid4()

    assert await claim(conn, CONSUMER, message) is True
    assert await claim(conn, CONSUMER, message) is False
    # Another consumer of the same topic handles it independently.
    assert await claim(conn, "other/police.intelligence", message) is True
    assert await claim(conn, CONSUMER, uuid.uuid4()) is True


async def test_a_claim_in_a_rolled_back_transaction_does_not_count(
    conn: asyncpg.Connection,
) -> None:
    message = uuid.uuid4()

    failed = conn.transaction()
    await failed.start()
    assert await claim(conn, CONSUMER, message) is True
    await failed.rollback()

    # The handling failed, so the redelivery must be handled, not skipped as a duplicate.
    assert await claim(conn, CONSUMER, message) is True


@pytest.mark.parametrize("first_commits", [True, False])
async def test_of_two_instances_claiming_at_once_exactly_one_handles(
    schema: Schema, conn: asyncpg.Connection, first_commits: bool
) -> None:
    message = uuid.uuid4()
    second = await schema.connect()
    try:
        tx = conn.transaction()
        await tx.start()
        assert await claim(conn, CONSUMER, message) is True
        # The second claim waits for the first transaction's outcome.
        racing = asyncio.create_task(claim(second, CONSUMER, message))
        pid = second.get_server_pid()

        async def blocked() -> bool:
            waiting = await schema.fetchval(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
            )
            return bool(waiting == "Lock")

        await eventually(blocked, "the second claim waits for the first transaction")
        await (tx.commit() if first_commits else tx.rollback())
        assert await racing is (not first_commits)
    finally:
        await second.close()


def messages(topic: str, count: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(topic, f"key-{i}".encode(), f"value-{i}".encode(), (("seq", b"%d" % i),))
        for i in range(count)
    ]


async def test_enqueued_messages_are_stored_with_their_bytes_and_headers(
    schema: Schema, conn: asyncpg.Connection
) -> None:
    binary = bytes(range(256))
    sent = OutgoingMessage(
        "t", None, binary, (("content-type", b"application/json"), ("raw", b"\x00\xff"))
    )

    await enqueue(conn, [*messages("t", 2), sent])

    rows = await outbox_rows(schema)
    assert [(r["topic"], r["key"], r["value"]) for r in rows] == [
        ("t", b"key-0", b"value-0"),
        ("t", b"key-1", b"value-1"),
        ("t", None, binary),
    ]
    assert [r["headers"] for r in rows] == [
        {"seq": b"0"},
        {"seq": b"1"},
        {"content-type": b"application/json", "raw": b"\x00\xff"},
    ]


async def test_a_rolled_back_enqueue_leaves_no_row_and_wakes_no_relay(
    schema: Schema, conn: asyncpg.Connection
) -> None:
    listener = await schema.connect()
    woken: list[str] = []
    sentinel_seen = asyncio.Event()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        woken.append(str(payload))
        if payload == SENTINEL:
            sentinel_seen.set()

    await listener.add_listener(schema.notify_channel, on_notify)
    try:
        failed = conn.transaction()
        await failed.start()
        await enqueue(conn, messages("lost", 3))
        await failed.rollback()
        async with conn.transaction():
            await enqueue(conn, messages("kept", 1))
        # Notifications arrive in commit order: once the sentinel is in, any wake-up from
        # the rolled-back transaction would have arrived before it.
        await conn.execute("SELECT pg_notify($1, $2)", schema.notify_channel, SENTINEL)
        await asyncio.wait_for(sentinel_seen.wait(), 30)
    finally:
        await listener.close()

    assert [r["topic"] for r in await outbox_rows(schema)] == ["kept"]
    assert woken == ["", SENTINEL]
