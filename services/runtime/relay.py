"""The outbox relay: the only code that publishes to Kafka.

One relay per service is leader at a time (a Postgres advisory lock), so events leave in
the order they were committed. It wakes on NOTIFY and polls as a fallback. A crash after
publishing but before deleting the rows publishes them again on restart: consumers drop the
copies by event id, so the effect is exactly once.
"""

import asyncio
import contextlib
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.runtime.db import connect
from services.runtime.logs import get_logger
from services.runtime.outbox import decode_headers

log = get_logger()

_TRANSIENT = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def relay_lock_name(schema: str) -> str:
    """The advisory-lock name a service's relay holds while it is leader."""
    return f"outbox-relay/{schema}"


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self.published = 0

    async def run(self) -> None:
        """Relay forever; connection losses are retried with a pause."""
        while True:
            try:
                await self._lead_and_relay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying whatever broke; nothing is lost
                log.warning("outbox_relay_error", error=type(exc).__name__)
                await asyncio.sleep(self._poll_interval_s)

    async def _lead_and_relay(self) -> None:
        conn = await connect(self._dsn)
        try:
            schema = await conn.fetchval("SELECT current_schema()")
            await self._wait_for_leadership(conn, relay_lock_name(schema))
            wake = asyncio.Event()
            await conn.add_listener(f"outbox_{schema}", lambda *_: wake.set())
            log.info("outbox_relay_leading", schema=schema)
            while True:
                wake.clear()
                if await self.drain_once(conn) == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self._poll_interval_s)
        finally:
            await conn.close()  # also releases the leader lock

    async def _wait_for_leadership(self, conn: asyncpg.Connection, lock: str) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
            await asyncio.sleep(self._poll_interval_s)

    async def drain_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch in id order and delete it; returns how many were sent."""
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                return 0
            pending: list[asyncio.Future[Any]] = []
            for row in rows:
                pending.append(
                    await self._producer.send(
                        row["topic"],
                        row["value"],
                        key=row["key"],
                        headers=decode_headers(row["headers"]),
                    )
                )
            await asyncio.gather(*pending)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        self.published += len(rows)
        return len(rows)
