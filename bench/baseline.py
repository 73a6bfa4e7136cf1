"""The practical ceiling: a raw aiokafka consume -> produce pass-through of the same
messages (the run's intelligence, byte for byte) on the same broker, in the same run.

One process, the services' producer settings (idempotent, acks=all, linger 5 ms), offsets
committed after each batch is acknowledged, as a consumer that must not lose a record would.
No database, no parsing: what Kafka and aiokafka allow on this machine.
"""

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.kafka_io import started_producer, topic_partitions
from bench.messages import Message
from infra.topics import TopicSpec, ensure_topics
from services.runtime.kafka_clients import MAX_REQUEST_BYTES
from tests.support.kafka_auth import access, client_kwargs

IN_TOPIC = "bench.passthrough.in"
OUT_TOPIC = "bench.passthrough.out"
PARTITIONS = 6  # as police.intelligence and referral.events


async def _ends(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> dict[Any, int]:
    return dict(await consumer.end_offsets(partitions))


async def _fill(bootstrap: str, messages: list[Message]) -> None:
    producer = await started_producer(bootstrap, "bench-fill")
    try:
        sent = [await producer.send(IN_TOPIC, m.value, key=m.key) for m in messages]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def passthrough(
    bootstrap: str, messages: list[Message], run_id: str, *, per_record: bool = False
) -> dict[str, Any]:
    """Batched (the ceiling), or ``per_record``: one record at a time, each produced, acked
    and its offset committed before the next, the shape of a service's consumer today."""
    await ensure_topics(
        access(bootstrap), (TopicSpec(IN_TOPIC, PARTITIONS), TopicSpec(OUT_TOPIC, PARTITIONS))
    )
    ins = await topic_partitions(bootstrap, IN_TOPIC)
    outs = await topic_partitions(bootstrap, OUT_TOPIC)
    consumer = AIOKafkaConsumer(
        **client_kwargs(bootstrap),
        group_id=f"bench-passthrough-{run_id}-{int(per_record)}",
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    producer = await started_producer(bootstrap, "bench-passthrough")
    try:
        starts = await _ends(consumer, ins)
        out_before = await _ends(consumer, outs)
        await _fill(bootstrap, messages)
        consumer.assign(ins)
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        total, moved = len(messages), 0
        began = time.perf_counter()
        while moved < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1 if per_record else 500)
            futures = [
                await producer.send(OUT_TOPIC, r.value, key=r.key, headers=r.headers)
                for records in batches.values()
                for r in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit()
            moved += len(futures)
            if not futures and time.perf_counter() - began > 300:
                break
        elapsed = time.perf_counter() - began
        out_after = await _ends(consumer, outs)
    finally:
        await producer.stop()
        await consumer.stop()
    arrived = sum(out_after[tp] - out_before.get(tp, 0) for tp in outs)
    problems = []
    if moved != total or arrived != total:
        problems.append(f"passed {moved} and {arrived} arrived of {total}")
    return {
        "shape": "one record at a time, commit each" if per_record else "batches of <= 500",
        "messages": total,
        "message_bytes": round(sum(len(m.value) for m in messages) / max(1, total)),
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(total / elapsed, 1) if not problems else None,
        "verified": not problems,
        "problems": problems,
    }
