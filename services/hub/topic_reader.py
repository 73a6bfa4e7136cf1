"""Reading Kafka partitions from their start to the end they had when the read began.

The hub's read commands (`referrals list`, `referrals show`) read the log itself, the one
truth every service folds, instead of any service's private tables.
"""

from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from services.runtime.kafka_clients import KafkaAccess
from services.runtime.topic_reading import LogRecord, partitions
from services.runtime.topic_reading import read_to_end as read_all

__all__ = ["LogRecord", "partition_for", "partitions_of", "read_to_end"]


def partition_for(key: str, partitions: list[int]) -> int:
    """The partition producers using the default partitioner put this key in."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(key.encode(), ordered, ordered))


async def partitions_of(kafka: KafkaAccess, topics: tuple[str, ...]) -> dict[str, list[int]]:
    """The partitions of each topic that exists."""
    found: dict[str, list[int]] = {}
    for tp in await partitions(kafka, topics):
        found.setdefault(tp.topic, []).append(tp.partition)
    return {topic: found[topic] for topic in topics if found.get(topic)}


async def read_to_end(
    kafka: KafkaAccess, wanted: list[TopicPartition], key: str | None = None
) -> list[LogRecord]:
    """Every record of the partitions (only those with ``key``, if given), in offset order
    within each partition."""
    raw_key = key.encode() if key is not None else None
    return [r async for r in read_all(kafka, wanted) if raw_key is None or r.key == raw_key]
