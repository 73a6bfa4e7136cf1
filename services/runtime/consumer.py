"""The consumer shell: verify the producer -> parse -> claim in the inbox -> handler (load,
decide, save) -> outbox, all in one transaction; failures retried with backoff; refusals
dead-lettered.

A handler is a thin function owned by a service. It gets the open connection, the parsed
envelope and a context with the clock and causal ids, and returns the messages to publish.
"""

import asyncio
import enum
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import asyncpg
from referral_schemas import Envelope, EventRejected, parse_event
from referral_schemas.producers import may_publish

from services.runtime.clock import CausalIds, Clock, IdFactory, id_for_record
from services.runtime.db import Connection
from services.runtime.dead_letter import ReceivedRecord, dead_letter
from services.runtime.errors import TRANSIENT_ERRORS, Rejection
from services.runtime.inbox import claim
from services.runtime.logs import bind_message, get_logger, unbind_message
from services.runtime.metrics import DEAD_LETTERS, HANDLER_SECONDS
from services.runtime.outbox import OutgoingMessage, enqueue
from services.runtime.provenance import TrustStore, Verdict
from services.runtime.tracing import handling

log = get_logger()


S = TypeVar("S")


@dataclass(frozen=True)
class HandlerContext:
    consumer: str
    clock: Clock
    ids: IdFactory
    record: ReceivedRecord


def consumer_name(service: str, topic: str) -> str:
    """The name ``service``'s consumer of ``topic`` goes by: its inbox rows, the event ids
    it derives (``CausalIds``) and its logs carry it, so whatever handles a record on the
    service's behalf (its app, a test harness) must name it with this."""
    return f"{service}/{topic}"


Handler = Callable[
    [Connection, Envelope[Any], HandlerContext], Awaitable[Sequence[OutgoingMessage]]
]

StoreHandler = Callable[[S, Envelope[Any], HandlerContext], Awaitable[Sequence[OutgoingMessage]]]
"""A handler's work on a service's store (its ``Protocol``): what unit tests call on the
in-memory store, and ``on_store`` gives the shell on PostgreSQL."""


def on_store(store_on: Callable[[Connection], S], handler: StoreHandler[S]) -> Handler:
    """``handler`` as the consumer shell calls it: on the store ``store_on`` makes of the
    shell's connection, inside the shell's transaction (after the inbox claim)."""

    async def handle(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> Sequence[OutgoingMessage]:
        return await handler(store_on(conn), envelope, context)

    return handle


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    IGNORED = "ignored"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


class MessageProcessor:
    """Handles one record at a time for one named consumer.

    ``event_types``, when given, are the only types the handler acts on: any other valid
    event is acknowledged as IGNORED with no transaction and no inbox row.
    """

    def __init__(
        self,
        pool: "asyncpg.Pool[Any]",
        consumer: str,
        handler: Handler,
        clock: Clock,
        retry: RetryPolicy,
        event_types: frozenset[str] | None = None,
        *,
        trust: TrustStore | None,
    ) -> None:
        self.pool = pool
        self.consumer = consumer
        self.handler = handler
        self.clock = clock
        self.retry = retry
        self._event_types = event_types
        self._trust = trust

    def wants(self, envelope: Envelope[Any]) -> bool:
        return self._event_types is None or envelope.type in self._event_types

    def context_for(self, record: ReceivedRecord, envelope: Envelope[Any]) -> HandlerContext:
        return HandlerContext(
            self.consumer, self.clock, CausalIds(self.consumer, envelope.id), record
        )

    async def process(self, record: ReceivedRecord) -> Outcome:
        """Never raises for a bad message; only cancellation stops it."""
        verdict = self._verify(record)
        if verdict.refusal is not None:
            refuse = partial(self._refuse, record, verdict.refusal, verdict.detail, None)
            return await self._retrying(refuse)
        try:
            envelope = parse_event(record.value)
        except EventRejected as rejected:
            refuse = partial(self._refuse, record, rejected.reason, rejected.detail, None)
            return await self._retrying(refuse)
        if verdict.producer is not None and not may_publish(
            verdict.producer, record.topic, envelope.type, envelope.data
        ):
            detail = f"{verdict.producer} may not publish {envelope.type} on {record.topic}"
            refuse = partial(self._refuse, record, "untrusted_producer", detail, envelope.id)
            return await self._retrying(refuse)
        if not self.wants(envelope):
            return Outcome.IGNORED
        bind_message(str(envelope.id), str(envelope.correlationid))
        try:
            return await self._handle_with_retries(record, envelope)
        finally:
            unbind_message()

    def admitted(self, record: ReceivedRecord) -> Envelope[Any] | None:
        """The record's envelope if ``process`` would hand it to the handler: signed by a
        trusted producer the contract allows, and parseable; None if it would refuse it."""
        verdict = self._verify(record)
        if verdict.refusal is not None:
            return None
        try:
            envelope = parse_event(record.value)
        except EventRejected:
            return None
        if verdict.producer is not None and not may_publish(
            verdict.producer, record.topic, envelope.type, envelope.data
        ):
            return None
        return envelope

    def _verify(self, record: ReceivedRecord) -> Verdict:
        """Who signed the record; ``trust`` None (unit and harness tests that feed records
        straight in) checks nothing. Every service process has a trust store."""
        if self._trust is None:
            return Verdict(None)
        return self._trust.verify(record.topic, record.key, record.value, record.headers)

    async def _handle_with_retries(
        self, record: ReceivedRecord, envelope: Envelope[Any]
    ) -> Outcome:
        """Handler errors count towards the dead-letter limit; outages never do."""
        failures = 0
        while True:
            try:
                return await self._retrying(partial(self._handle, record, envelope))
            except Exception as exc:
                failures += 1
                if failures >= self.retry.max_attempts:
                    detail = f"{type(exc).__name__} after {failures} attempts"
                    refuse = partial(self._refuse, record, "processing_failed", detail, envelope.id)
                    return await self._retrying(refuse)
                log.error("handler_failed", error=type(exc).__name__, attempt=failures)
                await asyncio.sleep(self.retry.delay(failures))

    async def _retrying(self, step: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Run ``step`` until it gets past transient trouble (database or network down)."""
        outage = 0
        while True:
            try:
                return await step()
            except TRANSIENT_ERRORS as exc:
                outage += 1
                log.warning("transient_failure", error=type(exc).__name__, attempt=outage)
                await asyncio.sleep(self.retry.delay(outage))

    async def _handle(self, record: ReceivedRecord, envelope: Envelope[Any]) -> Outcome:
        context = self.context_for(record, envelope)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if not await claim(conn, self.consumer, envelope.id):
                    log.info("duplicate_skipped", type=envelope.type)
                    return Outcome.DUPLICATE
                started = time.perf_counter()
                with handling(self.consumer, envelope):
                    messages = await self.handler(conn, envelope, context)
                HANDLER_SECONDS.labels(self.consumer, envelope.type).observe(
                    time.perf_counter() - started
                )
                await enqueue(conn, messages)
        except Rejection as rejection:
            return await self._refuse(record, rejection.reason, rejection.detail, envelope.id)
        log.debug("message_handled", type=envelope.type, published=len(messages))
        return Outcome.HANDLED

    async def _refuse(
        self, record: ReceivedRecord, reason: str, detail: str, event_id: uuid.UUID | None
    ) -> Outcome:
        message_id = event_id or id_for_record(record.topic, record.partition, record.offset)
        async with self.pool.acquire() as conn:
            fresh = await dead_letter(
                conn,
                record,
                consumer=self.consumer,
                message_id=message_id,
                reason=reason,
                detail=detail,
                event_id=event_id,
            )
        log.warning("dead_lettered", reason=reason, topic=record.topic, offset=record.offset)
        if fresh:
            DEAD_LETTERS.labels(self.consumer, reason).inc()
        return Outcome.DEAD_LETTERED if fresh else Outcome.DUPLICATE
