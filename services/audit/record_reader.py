"""Read back named Kafka records (topic, partition, offset), for a timeline that shows which
events had an effect (effects.py). The ledger says where each record is; this fetches those
records only, seeking to each one not yet seen, so a referral's few events are read without
reading the partition between them."""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.audit.effects import RecordKey
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess
from services.runtime.logs import get_logger

log = get_logger()
RecordSource = Callable[[Iterable[RecordKey]], Awaitable[dict[RecordKey, bytes]]]
"""Gives the bytes of the records it could read; a record it could not is left out."""


class KafkaRecords:
    """A RecordSource on the broker. Records gone (retention) or beyond the end are left
    out, and so is everything when the broker does not answer within ``timeout_s``: the
    timeline then says "unknown" rather than failing."""

    def __init__(self, kafka: KafkaAccess, timeout_s: float = 20.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s

    async def __call__(self, wanted: Iterable[RecordKey]) -> dict[RecordKey, bytes]:
        by_partition: dict[TopicPartition, set[int]] = defaultdict(set)
        for topic, partition, offset in wanted:
            by_partition[TopicPartition(topic, partition)].add(offset)
        if not by_partition:
            return {}
        try:
            return await asyncio.wait_for(self._read(by_partition), self._timeout_s)
        except (TimeoutError, KafkaError) as exc:
            log.warning("records_not_read", error=type(exc).__name__)
            return {}

    async def _read(self, by_partition: dict[TopicPartition, set[int]]) -> dict[RecordKey, bytes]:
        consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(),
            enable_auto_commit=False,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        )
        await consumer.start()
        try:
            partitions = list(by_partition)
            consumer.assign(partitions)
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            found: dict[RecordKey, bytes] = {}
            for tp, offsets in by_partition.items():
                readable = sorted(o for o in offsets if starts[tp] <= o < ends[tp])
                await _read_partition(consumer, tp, readable, found)
            return found
        finally:
            await consumer.stop()


async def _read_partition(
    consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    offsets: list[int],
    found: dict[RecordKey, bytes],
) -> None:
    """Seek to each wanted offset not already read with an earlier batch, and keep every
    wanted record of the batch that comes back."""
    wanted = set(offsets)
    for offset in offsets:
        if (tp.topic, tp.partition, offset) in found:
            continue
        consumer.seek(tp, offset)
        batch: list[Any] = []
        while not batch:
            batch = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
        for record in batch:
            if record.offset in wanted:
                found[(tp.topic, tp.partition, record.offset)] = record.value or b""
