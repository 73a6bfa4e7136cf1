"""The outbox relay: the only code that publishes to Kafka.

Every record leaves signed by this service's key (services/runtime/provenance.py).

One relay per service leads at a time, holding the relay lease (services/runtime/lease.py),
so events leave in the order they were committed. It wakes on NOTIFY and polls as a
fallback. A cycle reads a batch and renews the lease, publishes with no transaction open,
then marks the batch published (deletes it) in a transaction that renews the lease again:
a leader that hung and lost the lease meanwhile marks nothing and steps down. A crash or a
lost lease after publishing but before marking publishes the rows again: consumers drop the
copies by event id, so the effect is exactly once.
"""

import asyncio
import contextlib
import os
import socket
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import BrokerResponseError, MessageSizeTooLargeError, RecordTooLargeError

from services.runtime.db import Connection, SessionLimits, connect
from services.runtime.kafka_clients import MAX_REQUEST_BYTES
from services.runtime.lease import LeadershipLost, Lease, renew, try_acquire
from services.runtime.logs import get_logger
from services.runtime.metrics import RELAY_LEADING, RELAY_PUBLISHED
from services.runtime.outbox import decode_headers
from services.runtime.provenance import EventSigner

log = get_logger()


def instance_name() -> str:
    """Who this process is, as the lease row records it: host and pid for operators, and a
    random part so a reused pid is never taken for the old holder."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        producer: AIOKafkaProducer,
        signer: EventSigner,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        lease_s: float = 5.0,
        limits: SessionLimits | None = None,
        holder: str | None = None,
    ) -> None:
        self._dsn = dsn
        self._producer = producer
        self._signer = signer
        self._batch_size = batch_size
        # The leader renews at least three times per lease, however long the poll interval.
        self._poll_interval_s = min(poll_interval_s, lease_s / 3)
        self._lease_s = lease_s
        self._limits = limits
        self.holder = holder or instance_name()
        self.published = 0
        self.schema = ""
        self.leading = False
        self.last_progress = time.monotonic()
        """When the relay last finished a step (a poll for leadership, a drain): a relay
        whose last progress is old is stuck (readiness reports it)."""

    async def run(self) -> None:
        """Relay forever; connection losses and lost leadership are retried with a pause."""
        while True:
            try:
                await self._lead_and_relay()
            except asyncio.CancelledError:
                raise
            except LeadershipLost:
                log.warning("outbox_relay_lost_leadership", holder=self.holder)
            except Exception as exc:  # keep relaying whatever broke; nothing is lost
                log.warning("outbox_relay_error", error=type(exc).__name__)
                await asyncio.sleep(self._poll_interval_s)
            finally:
                self._lead(False)

    def _lead(self, leading: bool) -> None:
        self.leading = leading
        if self.schema:
            RELAY_LEADING.labels(self.schema).set(1 if leading else 0)

    async def _lead_and_relay(self) -> None:
        conn = await connect(self._dsn, self._limits)
        try:
            schema = self.schema = await conn.fetchval("SELECT current_schema()")
            self._lead(False)
            lease = await self._wait_for_leadership(conn)
            wake = asyncio.Event()
            await conn.add_listener(f"outbox_{schema}", lambda *_: wake.set())
            self._lead(True)
            log.info("outbox_relay_leading", schema=schema, holder=self.holder, epoch=lease.epoch)
            while True:
                wake.clear()
                if await self.drain_once(conn, lease) == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self._poll_interval_s)
        finally:
            await conn.close()

    async def _wait_for_leadership(self, conn: Connection) -> Lease:
        while True:
            try:
                lease = await try_acquire(conn, self.holder, self._lease_s)
            except asyncpg.LockNotAvailableError:
                lease = None  # the leader is marking a batch right now
            self.last_progress = time.monotonic()
            if lease is not None:
                return lease
            await asyncio.sleep(self._poll_interval_s)

    async def drain_once(self, conn: Connection, lease: Lease) -> int:
        """Publish one batch in id order and mark it published; returns how many rows left
        the outbox. Raises ``LeadershipLost`` (having marked nothing) if the lease is gone.

        A row Kafka refuses for good is parked (kept in ``outbox_parked`` with the error) so
        it cannot hold up every row behind it; a passing failure retries the whole batch.
        """
        async with conn.transaction():
            await renew(conn, lease, self._lease_s)
            rows = await conn.fetch(
                """SELECT id, topic, key, value, headers, created_at
                     FROM outbox ORDER BY id LIMIT $1""",
                self._batch_size,
            )
        self.last_progress = time.monotonic()
        if not rows:
            return 0
        results = await asyncio.gather(*[self._send(row) for row in rows], return_exceptions=True)
        refused = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                if not _refused_for_good(result):
                    raise result
                refused.append((row, result))
        async with conn.transaction():
            await renew(conn, lease, self._lease_s)  # the fence: only this epoch may mark
            for row, error in refused:
                await _park(conn, row, error)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        self.published += len(rows) - len(refused)
        RELAY_PUBLISHED.labels(self.schema).inc(len(rows) - len(refused))
        self.last_progress = time.monotonic()
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> None:
        if len(row["value"]) + len(row["key"] or b"") > MAX_REQUEST_BYTES:
            raise MessageSizeTooLargeError("record larger than the producer's max_request_size")
        topic, key, value = row["topic"], row["key"], row["value"]
        headers = self._signer.sign(topic, key, value, decode_headers(row["headers"]))
        future = await self._producer.send(topic, value, key=key, headers=headers)
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
