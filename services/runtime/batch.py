"""Handling a batch of records in one transaction, falling back to one at a time.

Kafka hands a consumer records in batches. Committing one PostgreSQL transaction and one
Kafka offset per record made every record wait for two round trips; a batch pays them once.
All records of a batch are claimed in the inbox with one statement, handled in order on one
connection, their outgoing messages written to the outbox in that order, and committed
together. If anything in the batch fails (a message to dead-letter, a handler error, an
outage), the whole transaction rolls back and the batch is handled again one record at a
time by ``MessageProcessor``, which retries, dead-letters and isolates exactly as before.
Either way each record's effects commit at most once, and the offsets are committed only
after the whole batch is done.

When the world rather than a record cuts the transaction short (the database is down, a
lock elsewhere is held too long, or this process hung and the server ended its transaction),
the batch is not split: after a pause it raises ``BatchInterrupted`` and the subscriber
leaves the offsets uncommitted, so the records come again, to this instance or, if its
partitions were given away while it hung, to their new owner. Stale work is dropped, not
finished.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from referral_schemas import Envelope

from services.runtime.consumer import MessageProcessor, Outcome
from services.runtime.db import Connection
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.errors import TRANSIENT_ERRORS
from services.runtime.inbox import claim_many
from services.runtime.logs import bind_message, get_logger, unbind_message
from services.runtime.metrics import (
    BATCH_SECONDS,
    BATCHES_INTERRUPTED,
    HANDLED,
    HANDLER_SECONDS,
)
from services.runtime.outbox import OutgoingMessage, enqueue
from services.runtime.tracing import handling

log = get_logger()


@dataclass(frozen=True)
class _Parsed:
    record: ReceivedRecord
    envelope: Envelope[Any]


class _SplitBatch(Exception):
    """Something in the batch needs a record's own handling; the batch is rolled back."""


class BatchInterrupted(Exception):
    """Nothing of the batch committed, for a reason outside it; deliver it again."""


class BatchProcessor:
    """Handles a consumer's batches; one record's trouble never costs another record."""

    def __init__(self, single: MessageProcessor) -> None:
        self._single = single
        self._interruptions = 0

    async def process_batch(self, records: Sequence[ReceivedRecord]) -> list[Outcome]:
        """Outcomes in record order. Never raises for a bad message; raises
        ``BatchInterrupted`` (after a pause that grows while it lasts) when the database or
        the session limits cut the batch short."""
        if not records:
            return []
        started = time.perf_counter()
        consumer = self._single.consumer
        try:
            outcomes = await self._together(records)
            self._interruptions = 0
        except _SplitBatch:
            outcomes = [await self._single.process(record) for record in records]
        BATCH_SECONDS.labels(consumer).observe(time.perf_counter() - started)
        counts = Counter(outcome.value for outcome in outcomes)
        for outcome, count in counts.items():
            HANDLED.labels(consumer, outcome).inc(count)
        log.info("batch_handled", records=len(records), **counts)
        return outcomes

    async def _together(self, records: Sequence[ReceivedRecord]) -> list[Outcome]:
        parsed = [self._parse(record) for record in records]
        single = self._single
        wanted = [p.envelope.id for p in parsed if single.wants(p.envelope)]
        if not wanted:
            return [Outcome.IGNORED] * len(records)
        outcomes: list[Outcome] = []
        try:
            async with single.pool.acquire() as conn, conn.transaction():
                unclaimed = await claim_many(conn, single.consumer, wanted)
                messages: list[OutgoingMessage] = []
                for item in parsed:
                    if not single.wants(item.envelope):
                        outcomes.append(Outcome.IGNORED)
                    elif item.envelope.id in unclaimed:
                        unclaimed.discard(item.envelope.id)  # a later copy is a duplicate
                        messages += await self._handle(conn, item)
                        outcomes.append(Outcome.HANDLED)
                    else:
                        outcomes.append(Outcome.DUPLICATE)
                await enqueue(conn, messages)
        except TRANSIENT_ERRORS as exc:
            self._interruptions += 1
            BATCHES_INTERRUPTED.labels(single.consumer).inc()
            log.warning("batch_interrupted", records=len(records), error=type(exc).__name__)
            await asyncio.sleep(single.retry.delay(self._interruptions))
            raise BatchInterrupted from exc
        except Exception as exc:  # the records are handled again one at a time
            log.info("batch_split", records=len(records), error=type(exc).__name__)
            raise _SplitBatch from exc
        return outcomes

    def _parse(self, record: ReceivedRecord) -> _Parsed:
        """The record's envelope if its rightful producer signed it and it parses; anything
        else is dead-lettered, with its reason, on the one-at-a-time path."""
        envelope = self._single.admitted(record)
        if envelope is None:
            raise _SplitBatch
        return _Parsed(record, envelope)

    async def _handle(self, conn: Connection, item: _Parsed) -> list[OutgoingMessage]:
        envelope = item.envelope
        bind_message(str(envelope.id), str(envelope.correlationid))
        try:
            context = self._single.context_for(item.record, envelope)
            started = time.perf_counter()
            with handling(self._single.consumer, envelope):
                messages = await self._single.handler(conn, envelope, context)
            HANDLER_SECONDS.labels(self._single.consumer, envelope.type).observe(
                time.perf_counter() - started
            )
            log.debug("message_handled", type=envelope.type, published=len(messages))
            return list(messages)
        finally:
            unbind_message()
