"""Read topics from offset 0 to where they ended when the read began (Kafka, not the
database), as the ledger describes records. Records of one partition come in offset order."""

from collections.abc import AsyncIterator, Sequence

from services.audit.replay_interface import RecordFacts
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.topic_reading import Progress, beginning_offsets, partitions, read_to_end

__all__ = ["Progress", "first_offsets", "read_all"]


async def read_all(
    kafka: KafkaAccess, topics: Sequence[str], progress: Progress | None = None
) -> AsyncIterator[RecordFacts]:
    """Every record of ``topics`` present when called, from the first retained offset."""
    async for r in read_to_end(kafka, await partitions(kafka, topics), progress):
        yield RecordFacts(r.topic, r.partition, r.offset, r.timestamp_ms, r.key, r.value, r.headers)


async def first_offsets(kafka: KafkaAccess, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """The first offset each partition of ``topics`` still holds (after retention)."""
    return {
        (tp.topic, tp.partition): offset
        for tp, offset in (await beginning_offsets(kafka, await partitions(kafka, topics))).items()
    }
