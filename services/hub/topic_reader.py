"""Reading Kafka partitions from their start to the end they had when the read began.

The hub's read commands (`referrals list`, `referrals show`) read the log itself, the one
truth every service folds, instead of any service's private tables.
"""

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess

_STALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def partition_for(key: str, partitions: list[int]) -> int:
    """The partition producers using the default partitioner put this key in."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(key.encode(), ordered, ordered))


async def partitions_of(kafka: KafkaAccess, topics: tuple[str, ...]) -> dict[str, list[int]]:
    """The partitions of each topic that exists."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found = {d["topic"]: [p["partition"] for p in d["partitions"]] for d in described}
    return {topic: found[topic] for topic in topics if found.get(topic)}


async def read_to_end(
    kafka: KafkaAccess, wanted: list[TopicPartition], key: str | None = None
) -> list[LogRecord]:
    """Every record of the partitions (only those with ``key``, if given), in offset order
    within each partition."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign(wanted)
        starts = await consumer.beginning_offsets(wanted)
        ends = await consumer.end_offsets(wanted)
        for tp in wanted:
            consumer.seek(tp, starts[tp])
        pending = {tp for tp in wanted if ends[tp] > starts[tp]}
        found: list[LogRecord] = []
        loop = asyncio.get_running_loop()
        stalled_since = loop.time()
        raw_key = key.encode() if key is not None else None
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                stalled_since = loop.time()
                found += [
                    LogRecord(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.value or b"",
                        r.key,
                        tuple(r.headers or ()),
                    )
                    for r in records
                    if r.offset < ends[tp] and (raw_key is None or r.key == raw_key)
                ]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if pending and loop.time() - stalled_since > _STALL_TIMEOUT_S:
                raise TimeoutError("Kafka stopped answering while the topics were read")
        return found
    finally:
        await consumer.stop()
