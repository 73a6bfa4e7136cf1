"""Prometheus metrics of a service process (``/metrics`` on the ops port, services/runtime/ops.py).

Counters and histograms are updated where things happen (the consumer shell, the relay);
gauges that describe state elsewhere (consumer lag, the outbox) are read when scraped. The
names start with ``hub_``; docs/runtime.md ("Operating a service") lists them, and
infra/grafana/referral-hub.json charts them. Labels hold names, never message content.
"""

from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge, Histogram

from services.runtime.db import Connection

HANDLED = Counter(
    "hub_messages_total",
    "Records a consumer finished, by outcome (handled, duplicate, ignored, dead_lettered).",
    ["consumer", "outcome"],
)
DEAD_LETTERS = Counter(
    "hub_dead_letters_total",
    "Records this process dead-lettered (sent to hub.dead-letter), by reason.",
    ["consumer", "reason"],
)
HANDLER_SECONDS = Histogram(
    "hub_handler_seconds",
    "Time a handler took for one event (load, decide, save), by event type.",
    ["consumer", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SECONDS = Histogram(
    "hub_batch_seconds",
    "Time from a batch's arrival to its transaction's end.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCHES_INTERRUPTED = Counter(
    "hub_batches_interrupted_total",
    "Batches given back for redelivery because the database or a session limit cut them short.",
    ["consumer"],
)
RELAY_PUBLISHED = Counter(
    "hub_relay_published_total", "Outbox rows this process's relay published.", ["service"]
)
RELAY_LEADING = Gauge(
    "hub_relay_leader", "1 while this process's relay holds the relay lease.", ["service"]
)
OUTBOX_BACKLOG = Gauge("hub_outbox_backlog", "Rows waiting in the outbox.", ["service"])
OUTBOX_OLDEST = Gauge(
    "hub_outbox_oldest_age_seconds",
    "Age of the oldest row waiting in the outbox (0 when empty).",
    ["service"],
)
OUTBOX_PARKED = Gauge(
    "hub_outbox_parked", "Rows Kafka refused for good, kept aside in outbox_parked.", ["service"]
)
CONSUMER_LAG = Gauge(
    "hub_consumer_lag",
    "Records on a partition this process consumes that it has not yet taken (high "
    "watermark minus position).",
    ["group", "topic", "partition"],
)


async def outbox_state(conn: Connection) -> tuple[int, float, int]:
    """(rows waiting, age of the oldest in seconds, rows parked) of the service's outbox."""
    row = await conn.fetchrow(
        """SELECT count(*) AS backlog,
                  coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest,
                  (SELECT count(*) FROM outbox_parked) AS parked
             FROM outbox"""
    )
    assert row is not None
    return int(row["backlog"]), float(row["oldest"]), int(row["parked"])


async def refresh_outbox(service: str, conn: Connection) -> tuple[int, float]:
    backlog, oldest, parked = await outbox_state(conn)
    OUTBOX_BACKLOG.labels(service).set(backlog)
    OUTBOX_OLDEST.labels(service).set(oldest)
    OUTBOX_PARKED.labels(service).set(parked)
    return backlog, oldest


ConsumerSource = Callable[[], "AIOKafkaConsumer | None"]
"""Gives a running Kafka consumer of the process (None while it is not started)."""


async def consumer_lag(consumer: AIOKafkaConsumer) -> dict[tuple[str, int], int]:
    """Lag per (topic, partition) of what ``consumer`` is assigned; partitions whose high
    watermark it has not fetched yet are left out."""
    lag: dict[tuple[str, int], int] = {}
    for tp in consumer.assignment():
        highwater: Any = consumer.highwater(tp)
        if highwater is None:
            continue
        try:
            position = await consumer.position(tp)
        except Exception:  # noqa: S112  (revoked since assignment() was read: not ours now)
            continue
        lag[(tp.topic, tp.partition)] = max(0, int(highwater) - int(position))
    return lag


async def refresh_lag(sources: Iterable[tuple[str, ConsumerSource]]) -> None:
    """Set the lag gauge from each (group, consumer); partitions no longer assigned to this
    process are dropped from it."""
    CONSUMER_LAG.clear()
    for group, source in sources:
        consumer = source()
        if consumer is None:
            continue
        for (topic, partition), lag in (await consumer_lag(consumer)).items():
            CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)
