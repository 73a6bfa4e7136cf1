"""Helpers for the runtime's integration tests: a throw-away Postgres schema per test module,
a throw-away Kafka topic, running relays, and golden sample events with fresh ids.

Test modules import these explicitly and wrap them in their own fixtures, so nothing here is
collected by pytest and nothing touches the services' own schemas or topics.
"""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from referral_schemas import Envelope, load_sample

from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection, connect, create_pool
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.kafka_clients import make_producer
from services.runtime.migrations import migrate_service
from services.runtime.outbox import OutgoingMessage, decode_headers
from services.runtime.relay import OutboxRelay
from tests.support.kafka import partitions_of
from tests.support.kafka_auth import access, client_kwargs
from tests.support.waiting import eventually

DATABASE = "referral_hub"
EFFECTS_SQL = "CREATE TABLE effects (event_id uuid NOT NULL, attempt int NOT NULL);\n"
"""The table a ``ScriptedHandler`` writes its (state-change) effects to."""


@dataclass(frozen=True)
class Schema:
    """A schema of our own in the project's database; ``dsn`` selects it via search_path."""

    name: str
    dsn: str

    async def connect(self) -> asyncpg.Connection:
        """A connection with the runtime's codecs (jsonb <-> Python)."""
        return await connect(self.dsn)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await self.connect()
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await self.connect()
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    @property
    def notify_channel(self) -> str:
        """The channel ``enqueue`` notifies on commit."""
        return f"outbox_{self.name}"


def admin_dsn(stack_env: dict[str, str]) -> str:
    """The superuser DSN, pointed at the project's database instead of ``postgres``."""
    parts = urlsplit(stack_env["HUB_ADMIN_DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{DATABASE}", query=""))


@contextlib.asynccontextmanager
async def fresh_schema(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    """Create ``rt_<random>``, yield it, and drop it with everything in it."""
    dsn = admin_dsn(stack_env)
    name = f"rt_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        yield Schema(name, f"{dsn}?search_path={name}")
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


@dataclass(frozen=True)
class ConsumerEnv:
    """A fresh schema with the runtime's tables and an ``effects`` table, and a pool on it:
    what a consumer shell needs."""

    schema: Schema
    pool: "asyncpg.Pool[Any]"


@contextlib.asynccontextmanager
async def consumer_env(stack_env: dict[str, str], folder: Path) -> AsyncIterator[ConsumerEnv]:
    (folder / "0001_effects.sql").write_text(EFFECTS_SQL)
    async with fresh_schema(stack_env) as schema:
        await migrate(schema, "svc", folder)
        pool = await create_pool(schema.dsn, min_size=1, max_size=4)
        try:
            yield ConsumerEnv(schema, pool)
        finally:
            await pool.close()


@contextlib.asynccontextmanager
async def migrated_transaction(
    stack_env: dict[str, str], service: str, folder: Path
) -> AsyncIterator[Connection]:
    """A connection to a fresh schema holding ``service``'s tables, inside a transaction
    that is rolled back at the end: what a store contract suite runs its PostgreSQL store on
    (a consumer shell's handler gets the same: one connection, one open transaction)."""
    async with fresh_schema(stack_env) as schema:
        await migrate(schema, service, folder)
        conn = await schema.connect()
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()
            await conn.close()


async def migrate(schema: Schema, service: str, folder: Path) -> list[str]:
    conn = await schema.connect()
    try:
        return await migrate_service(conn, service, folder)
    finally:
        await conn.close()


async def outbox_rows(schema: Schema) -> list[dict[str, Any]]:
    """The outbox as plain dicts with decoded headers, in id order."""
    rows = await schema.fetch("SELECT id, topic, key, value, headers FROM outbox ORDER BY id")
    return [{**dict(r), "headers": dict(decode_headers(r["headers"]))} for r in rows]


async def relay_is_leading(schema: Schema) -> bool:
    """Whether some relay holds the schema's unexpired relay lease."""
    held = await schema.fetchval("SELECT count(*) FROM relay_lease WHERE expires_at > now()")
    return bool(held)


@contextlib.asynccontextmanager
async def kafka_producer(bootstrap: str, client_id: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(access(bootstrap), client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator["asyncio.Task[None]"]:
    """Run the relay in the background; cancel it on exit (also if the test cancelled it)."""
    task = asyncio.create_task(relay.run(), name="test-outbox-relay")
    try:
        yield task
    finally:
        await stop(task)


async def stop(task: "asyncio.Task[None]", timeout_s: float = 30.0) -> None:
    """Cancel the task as a service shutdown does; fail if it keeps running."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        raise AssertionError(f"{task.get_name()} kept running after it was cancelled")


@contextlib.asynccontextmanager
async def temp_topic(bootstrap: str, partitions: int = 3) -> AsyncIterator[str]:
    """A topic of our own with ``partitions`` partitions, deleted afterwards."""
    name = f"rt-test-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])

        async def visible() -> bool:
            try:
                return len(await partitions_of(bootstrap, name)) == partitions
            except Exception:  # metadata not propagated yet
                return False

        await eventually(visible, f"topic {name} visible with {partitions} partitions")
        yield name
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([name])
        await admin.close()


def sample_with_fresh_id(name: str = "IntelligenceSubmitted.v1") -> tuple[uuid.UUID, bytes]:
    """A golden sample message as sent on the wire, but with a never-seen event id."""
    event = json.loads(load_sample(name))
    event_id = uuid.uuid4()
    event["id"] = str(event_id)
    return event_id, json.dumps(event).encode()


_offsets = iter(range(1_000, 10**9))


def record(value: bytes, topic: str = "police.intelligence") -> ReceivedRecord:
    """A record as Kafka would hand it to a consumer, at an offset no other test used."""
    return ReceivedRecord(
        topic=topic,
        partition=0,
        offset=next(_offsets),
        key=b"cumbria:CUM/2025/004217",
        value=value,
        headers=(("content-type", b"application/cloudevents+json"),),
    )


class StallingProducer:
    """Passes sends through until the ``stall_at``-th, which hangs until ``release`` is set
    (if ever): a relay that dies or hangs mid-batch, after part of it is on Kafka and before
    any of it is deleted."""

    def __init__(self, inner: AIOKafkaProducer, stall_at: int) -> None:
        self._inner = inner
        self._left = stall_at
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self._left -= 1
        if self._left == 0:
            self.stalled.set()
            await self.release.wait()
        return await self._inner.send(*args, **kwargs)


class CountingProducer:
    """Counts what the relay tries to send, by value."""

    def __init__(self, inner: AIOKafkaProducer) -> None:
        self._inner = inner
        self.tried: list[bytes] = []

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> Any:
        self.tried.append(value)
        return await self._inner.send(topic, value, **kwargs)


class ScriptedHandler:
    """Writes one effect row per call, then fails as told for that call, else returns
    ``returns``. Effects of failed calls must be rolled back."""

    def __init__(
        self, failures: Sequence[BaseException] = (), returns: Sequence[OutgoingMessage] = ()
    ) -> None:
        self.failures = list(failures)
        self.returns = returns
        self.calls = 0

    async def __call__(
        self, conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> Sequence[OutgoingMessage]:
        self.calls += 1
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, self.calls)
        if self.failures:
            raise self.failures.pop(0)
        return self.returns
