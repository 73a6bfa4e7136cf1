"""The consumer shell: parse -> claim in the inbox -> handler (load, decide, save) ->
outbox, all in one transaction; failures retried with backoff; refusals dead-lettered.

A handler is a thin function owned by a service. It gets the open connection, the parsed
envelope and a context with the clock and causal ids, and returns the messages to publish.
"""

import asyncio
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from referral_schemas import Envelope, EventRejected, parse_event

from services.runtime.clock import CausalIds, Clock, IdFactory, id_for_record
from services.runtime.db import Connection
from services.runtime.dead_letter import ReceivedRecord, dead_letter
from services.runtime.errors import TRANSIENT_ERRORS, Rejection
from services.runtime.inbox import claim
from services.runtime.logs import bind_message, get_logger, unbind_message
from services.runtime.outbox import OutgoingMessage, enqueue

log = get_logger()


@dataclass(frozen=True)
class HandlerContext:
    consumer: str
    clock: Clock
    ids: IdFactory
    record: ReceivedRecord


Handler = Callable[
    [Connection, Envelope[Any], HandlerContext], Awaitable[Sequence[OutgoingMessage]]
]


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


class MessageProcessor:
    """Handles one record at a time for one named consumer."""

    def __init__(
        self,
        pool: "asyncpg.Pool[Any]",
        consumer: str,
        handler: Handler,
        clock: Clock,
        retry: RetryPolicy,
    ) -> None:
        self._pool = pool
        self._consumer = consumer
        self._handler = handler
        self._clock = clock
        self._retry = retry

    async def process(self, record: ReceivedRecord) -> Outcome:
        """Never raises for a bad message; only cancellation stops it."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._process_once(record)
            except TRANSIENT_ERRORS as exc:
                log.warning("transient_failure", error=type(exc).__name__, attempt=attempt)
            except Exception as exc:
                if attempt >= self._retry.max_attempts:
                    detail = f"{type(exc).__name__} after {attempt} attempts"
                    return await self._refuse(record, "processing_failed", detail, None)
                log.error("handler_failed", error=type(exc).__name__, attempt=attempt)
            finally:
                unbind_message()
            await asyncio.sleep(self._retry.delay(attempt))

    async def _process_once(self, record: ReceivedRecord) -> Outcome:
        try:
            envelope = parse_event(record.value)
        except EventRejected as rejected:
            return await self._refuse(record, rejected.reason, rejected.detail, None)
        bind_message(str(envelope.id), str(envelope.correlationid))
        context = HandlerContext(
            self._consumer, self._clock, CausalIds(self._consumer, envelope.id), record
        )
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if not await claim(conn, self._consumer, envelope.id):
                    log.info("duplicate_skipped", type=envelope.type)
                    return Outcome.DUPLICATE
                messages = await self._handler(conn, envelope, context)
                await enqueue(conn, messages)
        except Rejection as rejection:
            return await self._refuse(record, rejection.reason, rejection.detail, envelope.id)
        log.info("message_handled", type=envelope.type, published=len(messages))
        return Outcome.HANDLED

    async def _refuse(
        self, record: ReceivedRecord, reason: str, detail: str, event_id: uuid.UUID | None
    ) -> Outcome:
        message_id = event_id or id_for_record(record.topic, record.partition, record.offset)
        async with self._pool.acquire() as conn:
            fresh = await dead_letter(
                conn,
                record,
                consumer=self._consumer,
                message_id=message_id,
                reason=reason,
                detail=detail,
                event_id=event_id,
            )
        log.warning("dead_lettered", reason=reason, topic=record.topic, offset=record.offset)
        return Outcome.DEAD_LETTERED if fresh else Outcome.DUPLICATE
