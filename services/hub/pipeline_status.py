"""`hub status`'s second table: how far behind each service is, read from the source.

Consumer lag comes from Kafka (the end of each partition minus what the service's group
committed), the outbox backlog and dead letters from the service's own schema, readiness
from its ops port when `hub up` gave it one. Each figure is read with a short timeout, so a
stack that is half down still shows what it can.
"""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from services.audit.ledgered import LEDGERED_TOPICS
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.metrics import outbox_state

TIMEOUT_S = 5.0
T = TypeVar("T")

OPS_PORTS = {
    "intake": 9301,
    "routing": 9302,
    "casework": 9303,
    "feedback": 9304,
    "insights": 9305,
    "audit": 9306,
}
"""The ops port (/healthz, /readyz, /metrics) `hub up` gives each service that consumes."""


@dataclass(frozen=True)
class Figures:
    service: str
    lag: int | None = None
    backlog: int | None = None
    oldest_s: float | None = None
    parked: int | None = None
    dead_letters: int | None = None
    ready: str = "-"


async def group_lag(kafka: KafkaAccess, group: str, topics: frozenset[str] | None = None) -> int:
    """Records on the group's partitions (of ``topics``, when given) it has not committed
    past (0 if it has none)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=4000)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    if topics is not None:
        committed = {tp: meta for tp, meta in committed.items() if tp.topic in topics}
    if not committed:
        return 0
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), request_timeout_ms=4000)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items() if meta.offset >= 0)


async def _database_figures(dsn: str) -> tuple[int, float, int, int]:
    conn = await asyncpg.connect(dsn, timeout=TIMEOUT_S)
    try:
        backlog, oldest, parked = await outbox_state(conn)
        dead = await conn.fetchval("SELECT count(*) FROM dead_letters")
    finally:
        await conn.close()
    return backlog, oldest, parked, int(dead)


def _readiness(port: int) -> str:
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return "ready" if json.load(response).get("ready") else "not ready"
    except urllib.error.HTTPError as refused:
        checks = json.load(refused).get("checks", {})
        failing = [f"{name}: {why}" for name, why in checks.items() if why != "ok"]
        return "not ready (" + "; ".join(failing) + ")"
    except OSError:
        return "no answer"


async def _bounded(step: Coroutine[Any, Any, T]) -> T | None:
    """The step's result, or None if it fails or takes too long (shown as '?')."""
    try:
        return await asyncio.wait_for(step, TIMEOUT_S)
    except Exception:
        return None


async def figures_of(service: str, env: dict[str, str], running: bool) -> Figures:
    kafka = KafkaAccess.from_env(env) if "HUB_KAFKA_BOOTSTRAP" in env else None
    group = env.get("AUDIT_CONSUMER_GROUP", "audit") if service == "audit" else service
    # An audit group from before the ledger stopped reading hub.dead-letter still holds
    # offsets there that will never move again: only what it reads now is its lag.
    topics = frozenset(LEDGERED_TOPICS) if service == "audit" else None
    lag = await _bounded(group_lag(kafka, group, topics)) if kafka else None
    dsn = env.get(f"{service.upper()}_DATABASE_URL")
    db = await _bounded(_database_figures(dsn)) if dsn else None
    ready = "-"
    if running:
        ready = await asyncio.to_thread(_readiness, OPS_PORTS[service])
    if db is None:
        return Figures(service, lag=lag, ready=ready)
    backlog, oldest, parked, dead = db
    return Figures(service, lag, backlog, oldest, parked, dead, ready)


async def gather(env: dict[str, str], running: dict[str, bool]) -> list[Figures]:
    return list(
        await asyncio.gather(
            *[figures_of(service, env, running.get(service, False)) for service in OPS_PORTS]
        )
    )
