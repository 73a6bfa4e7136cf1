"""Signed checkpoints: stored in ``checkpoints`` and published on hub.access (key "audit")
through the outbox, in one transaction, under the ledger's lock (the head cannot move while
it is signed)."""

import asyncio
import uuid
from typing import Any

import asyncpg
from referral_schemas import make_envelope
from referral_schemas.audit_v1 import CHECKPOINT_KEY, AuditCheckpoint
from referral_schemas.topics import ACCESS_EVENTS

from services.audit import store
from services.audit.signing import SigningKey, sign_checkpoint, statement_digest
from services.runtime.app import BackgroundTask
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.errors import TRANSIENT_ERRORS
from services.runtime.logs import get_logger
from services.runtime.outbox import enqueue, event_message

log = get_logger()
SOURCE = "referral-hub/audit"
ACTOR = "system:audit"
_IDS = uuid.UUID("0b7e54a4-6f0e-4c1e-93a2-2f1d3c8b5e71")


def checkpoint_of(row: asyncpg.Record) -> AuditCheckpoint:
    return AuditCheckpoint(
        sequence=row["sequence"],
        count=row["count"],
        head=row["head"],
        signed_at=row["signed_at"],
        previous=row["previous"],
        key_id=row["key_id"],
        signature=row["signature"],
    )


async def all_checkpoints(conn: Connection) -> list[AuditCheckpoint]:
    rows = await conn.fetch("SELECT * FROM checkpoints ORDER BY sequence")
    return [checkpoint_of(r) for r in rows]


async def latest(conn: Connection) -> AuditCheckpoint | None:
    row = await conn.fetchrow("SELECT * FROM checkpoints ORDER BY sequence DESC LIMIT 1")
    return None if row is None else checkpoint_of(row)


async def _only_checkpoints_since(conn: Connection, count: int) -> bool:
    """Nothing but our own published checkpoints was ledgered after ``count``."""
    other = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM ledger WHERE position > $1
                              AND type IS DISTINCT FROM 'AuditCheckpoint')""",
        count,
    )
    return not other


async def make_checkpoint(
    conn: Connection, key: SigningKey, clock: Clock, *, on_demand: bool = False
) -> AuditCheckpoint | None:
    """Sign the current head if it moved since the last checkpoint (periodic runs also skip
    a head moved only by our own checkpoint records, or they would never stop)."""
    async with conn.transaction():
        await store.lock_ledger(conn)
        count, head = await store.head(conn)
        last = await latest(conn)
        if last is None and count == 0 and not on_demand:
            return None  # nothing to vouch for yet
        if last is not None and (
            last.count == count
            or (not on_demand and await _only_checkpoints_since(conn, last.count))
        ):
            return None
        now = clock.now()
        checkpoint = sign_checkpoint(
            key,
            sequence=1 if last is None else last.sequence + 1,
            count=count,
            head=head.hex(),
            signed_at=now,
            previous=None if last is None else statement_digest(last),
        )
        await conn.execute(
            """INSERT INTO checkpoints (sequence, count, head, signed_at, previous, key_id,
                   signature) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            checkpoint.sequence,
            checkpoint.count,
            checkpoint.head,
            checkpoint.signed_at,
            checkpoint.previous,
            checkpoint.key_id,
            checkpoint.signature,
        )
        event_id = uuid.uuid5(_IDS, f"{checkpoint.key_id}/{checkpoint.sequence}")
        envelope = make_envelope(
            checkpoint,
            id=event_id,
            source=SOURCE,
            time=now,
            subject=CHECKPOINT_KEY,
            correlation_id=event_id,
            causation_id=None,
            actor=ACTOR,
        )
        await enqueue(conn, [event_message(ACCESS_EVENTS, CHECKPOINT_KEY, envelope)])
    log.info("checkpoint_signed", sequence=checkpoint.sequence, count=checkpoint.count)
    return checkpoint


def checkpoint_task(key: SigningKey, clock: Clock, interval_s: float) -> BackgroundTask:
    """Sign the head every ``interval_s`` seconds (when it moved)."""

    async def run(pool: "asyncpg.Pool[Any]") -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                async with pool.acquire() as conn:
                    await make_checkpoint(conn, key, clock)
            except TRANSIENT_ERRORS as exc:
                log.warning("checkpoint_deferred", error=type(exc).__name__)
            except Exception as exc:  # keep signing later: the next run may succeed
                log.error("checkpoint_failed", error=type(exc).__name__)

    return run
