"""The app builder: explicit wiring of one service process. Nothing here runs at import.

``run_service`` connects to Postgres, applies migrations, starts the outbox relay and the
Kafka subscribers, and runs until SIGTERM/SIGINT. Subscribers take records in batches (up to
``consumer_batch_max_records``, waiting at most ``consumer_batch_timeout_ms`` when idle);
offsets are committed only after a whole batch was handled (at-least-once); the inbox makes
the redelivery after a crash harmless.
"""

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.runtime.batch import BatchProcessor
from services.runtime.clock import Clock, SystemClock
from services.runtime.consumer import Handler, MessageProcessor, RetryPolicy, consumer_name
from services.runtime.db import connect, create_pool
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.http import serve
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, make_producer
from services.runtime.logs import configure_logging, get_logger
from services.runtime.metrics import ConsumerSource
from services.runtime.migrations import migrate_service
from services.runtime.ops import OpsTargets, ops_app
from services.runtime.relay import OutboxRelay
from services.runtime.settings import ServiceSettings
from services.runtime.tracing import configure_tracing, shutdown_tracing

log = get_logger()


@dataclass(frozen=True)
class Subscription:
    """One topic this service consumes, and the handler for its messages."""

    topic: str
    handler: Handler
    event_types: frozenset[str] | None = None
    """The event types the handler acts on; others are acknowledged without a transaction.
    None: every type reaches the handler."""


BackgroundTask = Callable[["asyncpg.Pool[Any]"], Coroutine[Any, Any, None]]
"""A long-running coroutine of a service (a timer loop, an HTTP server), given the pool.
Started after migrations, cancelled at shutdown."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings: ServiceSettings
    migrations: Path
    subscriptions: Sequence[Subscription]
    clock: Clock = field(default_factory=SystemClock)
    background: Sequence[BackgroundTask] = ()
    kafka_consumers: Sequence[tuple[str, ConsumerSource]] = ()
    """(group, consumer) of consumers a background task runs itself (audit's ledger), for
    the ops endpoints' lag and readiness."""


def received(record: Any) -> ReceivedRecord:
    return ReceivedRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        headers=tuple(record.headers or ()),
    )


def subscribe(
    broker: KafkaBroker,
    group_id: str,
    topic: str,
    processor: BatchProcessor,
    settings: ServiceSettings,
) -> ConsumerSource:
    """Register a batch subscriber that acknowledges (commits the offsets) only after the
    processor has finished the whole batch; returns what gives its Kafka consumer."""
    subscriber = broker.subscriber(
        topic,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        batch=True,
        max_records=settings.consumer_batch_max_records,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_session_timeout_ms // 3,
    )

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        await processor.process_batch([received(record) for record in batch])

    return lambda: subscriber.consumer if subscriber.running else None


async def _migrate(dsn: str, spec: ServiceSpec) -> None:
    # Without the session limits: an instance starting beside another waits for the other's
    # migrations (an advisory lock) for as long as they take.
    conn = await connect(dsn)
    try:
        applied = await migrate_service(conn, spec.name, spec.migrations)
    finally:
        await conn.close()
    log.info("migrations_applied", count=len(applied))


async def run_service(spec: ServiceSpec) -> None:
    settings = spec.settings
    configure_logging(spec.name, settings.log_level)
    configure_tracing(spec.name, settings.traces_exporter)
    dsn = settings.database_url.get_secret_value()
    limits = settings.session_limits()
    pool = await create_pool(
        dsn, min_size=settings.pool_min_size, max_size=settings.pool_max_size, limits=limits
    )
    kafka = settings.kafka_access()
    signer, trust = settings.provenance(spec.name)
    producer = make_producer(
        kafka,
        f"{spec.name}-relay",
        linger_ms=settings.producer_linger_ms,
        compression=settings.producer_compression,
    )
    await _migrate(dsn, spec)
    await producer.start()
    relay = OutboxRelay(
        dsn,
        producer,
        signer,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
        lease_s=settings.outbox_lease_s,
        limits=limits,
    )
    tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
    tasks += [asyncio.create_task(task(pool)) for task in spec.background]
    broker = KafkaBroker(
        kafka.servers, client_id=spec.name, logger=None, security=kafka.faststream_security()
    )
    retry = RetryPolicy(
        settings.consumer_max_attempts, settings.retry_base_delay_s, settings.retry_max_delay_s
    )
    consumers = list(spec.kafka_consumers)
    for sub in spec.subscriptions:
        consumer = consumer_name(spec.name, sub.topic)
        single = MessageProcessor(
            pool, consumer, sub.handler, spec.clock, retry, sub.event_types, trust=trust
        )
        source = subscribe(broker, spec.name, sub.topic, BatchProcessor(single), settings)
        consumers.append((spec.name, source))
    if settings.ops_port is not None:
        targets = OpsTargets(
            spec.name,
            pool,
            producer,
            relay,
            consumers,
            stuck_outbox_s=settings.ops_stuck_outbox_s,
            relay_stalled_s=max(3 * settings.outbox_lease_s, 15.0),
        )
        ops = serve(
            ops_app(targets), settings.ops_host, settings.ops_port, what="ops", required=False
        )
        tasks.append(asyncio.create_task(ops, name="ops-http"))
    log.info("service_starting", subscriptions=[s.topic for s in spec.subscriptions])
    try:
        await FastStream(broker, logger=None).run()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await pool.close()
        shutdown_tracing()
        log.info("service_stopped")
