"""Reading Kafka partitions from their first retained offset to the end they had when the
read began: the auditors' replay and the hub's read commands read the log this one way.
Records of one partition come in offset order."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess

STALL_TIMEOUT_S = 60.0
"""A read that gets nothing for this long while records remain gives up (Kafka is gone)."""

Progress = Callable[[int, int], None]
"""Called with (records read so far, records to read in all)."""


@dataclass(frozen=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None


async def partitions(kafka: KafkaAccess, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist, sorted."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
    )


async def beginning_offsets(
    kafka: KafkaAccess, wanted: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The first offset each partition still holds (retention deletes from the start)."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        found: dict[TopicPartition, int] = await consumer.beginning_offsets(list(wanted))
        return found
    finally:
        await consumer.stop()


async def read_to_end(
    kafka: KafkaAccess, wanted: Sequence[TopicPartition], progress: Progress | None = None
) -> AsyncIterator[LogRecord]:
    """Every record of ``wanted`` present when called, from the first retained offset."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        starts = await consumer.beginning_offsets(list(wanted))
        ends = await consumer.end_offsets(list(wanted))
        for tp in wanted:
            consumer.seek(tp, starts[tp])
        total = sum(ends[tp] - starts[tp] for tp in wanted)
        pending = {tp for tp in wanted if ends[tp] > starts[tp]}
        read = 0
        loop = asyncio.get_running_loop()
        last_news = loop.time()
        if progress:
            progress(read, total)
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                last_news = loop.time()
                for r in records:
                    if r.offset >= ends[tp]:
                        continue
                    read += 1
                    yield LogRecord(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.value or b"",
                        r.key,
                        tuple(r.headers or ()),
                        r.timestamp,
                    )
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if progress:
                progress(read, total)
            if pending and loop.time() - last_news > STALL_TIMEOUT_S:
                raise TimeoutError("Kafka stopped answering while the topics were read")
    finally:
        await consumer.stop()
