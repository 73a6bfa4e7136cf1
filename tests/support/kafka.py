"""Real-Kafka helpers for tests: send records, watch a topic from "now", and wait until a
consumer group has committed past a record."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.runtime.dead_letter import dead_letter_key
from tests.support.kafka_auth import client_kwargs, stack_env_of
from tests.support.provenance import signed


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int

    @property
    def dead_letter_key(self) -> bytes:
        """The key of this record's copy on hub.dead-letter, should a consumer refuse it."""
        return dead_letter_key(self.topic, self.partition, self.offset)


async def send(
    bootstrap: str,
    topic: str,
    key: str,
    values: list[bytes],
    headers: list[tuple[str, bytes]] | None = None,
    *,
    sign: bool = True,
) -> list[Sent]:
    """Publish ``values`` as the operator, each signed by its rightful producer
    (tests/support/provenance.py) unless ``sign`` is False (a forgery)."""
    env = stack_env_of(bootstrap)
    producer = AIOKafkaProducer(
        **client_kwargs(bootstrap), acks="all", max_request_size=5 * 1024 * 1024
    )
    await producer.start()
    try:
        sent = []
        for value in values:
            with_signature = signed(env, topic, key.encode(), value, headers) if sign else headers
            meta = await producer.send_and_wait(
                topic, value, key=key.encode(), headers=with_signature
            )
            sent.append(Sent(topic, meta.partition, meta.offset))
        return sent
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int

    def json(self) -> Any:
        return json.loads(self.value)


class TopicWatch:
    """Reads a topic from the positions it had when the watch began."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.records: list[Record] = []

    async def _poll(self, timeout_ms: int) -> None:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        for batch in batches.values():
            for r in batch:
                self.records.append(
                    Record(r.key, r.value or b"", dict(r.headers or ()), r.partition, r.offset)
                )

    async def more(self, timeout_ms: int = 500) -> list[Record]:
        """Poll once; return the records that arrived."""
        before = len(self.records)
        await self._poll(timeout_ms)
        return self.records[before:]

    async def wait_for(
        self, match: Callable[[Record], bool], count: int = 1, timeout_s: float = 120.0
    ) -> list[Record]:
        """Wait until ``count`` matching records arrived; return all matching so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            found = [r for r in self.records if match(r)]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(
                    f"saw {len(found)} of {count} expected records in {timeout_s}s"
                )
            await self._poll(500)

    async def drain(self, quiet_s: float = 2.0) -> list[Record]:
        """Read until nothing new arrives for ``quiet_s``; return everything read."""
        while True:
            before = len(self.records)
            await self._poll(int(quiet_s * 1000))
            if len(self.records) == before:
                return self.records


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in described[0]["partitions"])
    if not partitions:
        raise AssertionError(f"topic {topic} has no partitions (not created?)")
    return partitions


@asynccontextmanager
async def watch(bootstrap: str, topic: str) -> AsyncIterator[TopicWatch]:
    consumer = AIOKafkaConsumer(
        **client_kwargs(bootstrap),
        enable_auto_commit=False,
        max_partition_fetch_bytes=5 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp, end in ends.items():
            consumer.seek(tp, end)
        yield TopicWatch(consumer)
    finally:
        await consumer.stop()


async def wait_committed(bootstrap: str, group: str, sent: Sent, timeout_s: float = 120.0) -> None:
    """Wait until ``group`` has committed an offset past ``sent`` (it handled the record)."""
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        tp = TopicPartition(sent.topic, sent.partition)
        while True:
            try:
                offsets = await admin.list_consumer_group_offsets(group, partitions=[tp])
            except KafkaError as err:
                # A fresh broker creates its offsets topic on the first group lookup and
                # answers "coordinator not available" meanwhile: retriable, like any client.
                if not err.retriable:
                    raise
                offsets = {}
            meta = offsets.get(tp)
            if meta is not None and meta.offset > sent.offset:
                return
            if loop.time() > deadline:
                raise AssertionError(f"{group} did not commit past {sent} in {timeout_s}s")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def caught_up(bootstrap: str, group: str, topics: tuple[str, ...]) -> bool:
    """``group`` has committed every partition of ``topics`` up to its end."""
    wanted = [TopicPartition(t, p) for t in topics for p in await partitions_of(bootstrap, t)]
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap))
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=wanted)
        ends = await consumer.end_offsets(wanted)
    finally:
        await consumer.stop()
        await admin.close()
    return all(
        ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in wanted
    )
