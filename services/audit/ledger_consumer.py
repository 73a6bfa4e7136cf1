"""The ledger's own Kafka consumer: every record of every topic, parseable or not.

The runtime's consumer shell dead-letters what it cannot parse; the ledger must keep even
that, so it reads raw records itself. Same guarantees: a batch is appended in one
transaction, and only then are the offsets committed (at-least-once). A redelivered record
is found by its (topic, partition, offset) and skipped, so the effect is exactly once.
Each entry records who signed the record, as verified against the trust store (a forged
record is ledgered too, marked ``bad_signature`` or ``untrusted_producer``).
Nothing is ever skipped for being unreadable, and no failure drops a record: every error is
retried with capped backoff until the batch is stored.
"""

import asyncio
import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from services.audit.entries import RecordFacts
from services.audit.ledger_store import LedgerStore, PgLedgerStore
from services.audit.store import AppendCounts
from services.runtime.app import BackgroundTask
from services.runtime.consumer import RetryPolicy
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess
from services.runtime.logs import get_logger
from services.runtime.provenance import TrustStore

log = get_logger()


def facts_of(topic: str, record: "ConsumerRecord[bytes, bytes]") -> RecordFacts:
    return RecordFacts(
        topic=topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value or b"",
        headers=tuple(record.headers or ()),
    )


def in_record_time_order(partitions: Iterable[list[RecordFacts]]) -> list[RecordFacts]:
    """One batch's records across topics by record time, each partition's in offset order
    (a ledger that fell behind appends what it catches up on as it happened, not topic by
    topic)."""
    return list(heapq.merge(*partitions, key=lambda r: r.timestamp_ms or 0))


async def store_batch(
    ledger: LedgerStore,
    records: Sequence[RecordFacts],
    retry: RetryPolicy,
    trust: TrustStore,
) -> AppendCounts:
    """Append until it succeeds: a ledger may be late, never incomplete."""
    attempt = 0
    while True:
        try:
            return await ledger.append(records, trust)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            log.warning("ledger_append_retry", error=type(exc).__name__, attempt=attempt)
            await asyncio.sleep(retry.delay(attempt))


Fetched = Mapping[TopicPartition, Sequence["ConsumerRecord[bytes, bytes]"]]
"""What one ``getmany`` returns: each partition's records, in offset order."""


async def append_fetched(
    ledger: LedgerStore, batches: Fetched, retry: RetryPolicy, trust: TrustStore
) -> tuple[AppendCounts, dict[TopicPartition, int]]:
    """One fetched batch ledgered in record-time order (retried until stored), and the
    offsets to commit once it is."""
    records = in_record_time_order(
        [facts_of(tp.topic, r) for r in rs] for tp, rs in batches.items()
    )
    counts = await store_batch(ledger, records, retry, trust)
    return counts, {tp: rs[-1].offset + 1 for tp, rs in batches.items() if rs}


class LedgerConsumer:
    def __init__(
        self,
        kafka: KafkaAccess,
        group_id: str,
        topics: Sequence[str],
        trust: TrustStore,
        *,
        batch_size: int = 500,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._kafka = kafka
        self._group_id = group_id
        self._topics = list(topics)
        self._trust = trust
        self._batch_size = batch_size
        self._retry = retry or RetryPolicy()
        self.ledgered = 0
        self.consumer: AIOKafkaConsumer | None = None
        """The consumer while it runs (for the ops endpoints' lag and readiness)."""

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._topics,
            **self._kafka.client_kwargs(),
            group_id=self._group_id,
            client_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        )

    async def run(self, pool: "asyncpg.Pool[Any]") -> None:
        """Consume forever; a lost broker connection restarts the consumer after a pause."""
        failures = 0
        while True:
            consumer = self._consumer()
            try:
                await consumer.start()
                log.info("ledger_consuming", topics=self._topics)
                failures = 0
                self.consumer = consumer
                await self._consume(consumer, PgLedgerStore(pool))
            except Exception as exc:  # KafkaError or worse: start again, lose nothing
                failures += 1
                level = log.warning if isinstance(exc, KafkaError) else log.error
                level("ledger_consumer_restart", error=type(exc).__name__)
                await asyncio.sleep(self._retry.delay(failures))
            finally:
                self.consumer = None
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer, ledger: LedgerStore) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=self._batch_size)
            if not batches:
                continue
            counts, offsets = await append_fetched(ledger, batches, self._retry, self._trust)
            self.ledgered += counts.appended
            await self._commit(consumer, offsets)
            log.info(
                "ledger_appended",
                appended=counts.appended,
                copies=counts.copies,
                already=counts.already,
            )

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            # A rebalance moved the partitions: whoever gets them re-reads these records,
            # finds them ledgered and skips them.
            log.warning("ledger_commit_lost_to_rebalance")

    def task(self) -> BackgroundTask:
        return self.run
