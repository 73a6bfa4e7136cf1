"""The outbox relay: the only code that publishes to Kafka.

One relay per service is leader at a time (a Postgres advisory lock), so events leave in
the order they were committed. It wakes on NOTIFY and polls as a fallback. A crash after
publishing but before deleting the rows publishes them again on restart: consumers drop the
copies by event id, so the effect is exactly once.
"""

import asyncio
import contextlib

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import BrokerResponseError, MessageSizeTooLargeError, RecordTooLargeError

from services.runtime.db import Connection, connect
from services.runtime.kafka_clients import MAX_REQUEST_BYTES
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

    async def _wait_for_leadership(self, conn: Connection, lock: str) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
            await asyncio.sleep(self._poll_interval_s)

    async def drain_once(self, conn: Connection) -> int:
        """Publish one batch in id order and delete it; returns how many rows left the outbox.

        A row Kafka refuses for good is parked (kept in ``outbox_parked`` with the error) so
        it cannot hold up every row behind it; a passing failure retries the whole batch.
        """
        async with conn.transaction():
            rows = await conn.fetch(
                """SELECT id, topic, key, value, headers, created_at
                     FROM outbox ORDER BY id LIMIT $1""",
                self._batch_size,
            )
            if not rows:
                return 0
            results = await asyncio.gather(
                *[self._send(row) for row in rows], return_exceptions=True
            )
            refused = []
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    if not _refused_for_good(result):
                        raise result
                    refused.append((row, result))
            for row, error in refused:
                await _park(conn, row, error)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        self.published += len(rows) - len(refused)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> None:
        if len(row["value"]) + len(row["key"] or b"") > MAX_REQUEST_BYTES:
            raise MessageSizeTooLargeError("record larger than the producer's max_request_size")
        future = await self._producer.send(
            row["topic"], row["value"], key=row["key"], headers=decode_headers(row["headers"])
        )
        await future


def _refused_for_good(error: BaseException) -> bool:
    """Kafka's answer will not change on retry (unlike a broker that is down)."""
    if isinstance(error, MessageSizeTooLargeError | RecordTooLargeError):
        return True
    return isinstance(error, BrokerResponseError) and not error.retriable


async def _park(conn: Connection, row: asyncpg.Record, error: BaseException) -> None:
    await conn.execute(
        """INSERT INTO outbox_parked (id, topic, key, value, headers, created_at, error)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING""",
        row["id"],
        row["topic"],
        row["key"],
        row["value"],
        row["headers"],
        row["created_at"],
        type(error).__name__,
    )
    log.error("outbox_row_parked", topic=row["topic"], error=type(error).__name__)
