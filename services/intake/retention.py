"""The retention job (docs/privacy.md, "How long"): a referral's personal details are erased
once it has been ended (closed or cancelled) for INTAKE_RETENTION_ENDED_REFERRAL_DAYS, as if
`hub erase` had asked, and recorded the same way (PersonalDataErased, scope ``retention``).

Intake runs it: it keeps the keys and knows when each referral ended. Each pass takes a batch
of due referrals (locked, skipped if another instance has them), erases each, and writes the
events to the outbox in the same transaction: a crash erases a referral wholly or not at all,
and a re-run finds it erased. A referral that has not ended is never erased by time.
"""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from referral_schemas import ErasureScope, PersonalDataErased, make_envelope
from referral_schemas.topics import REFERRAL_EVENTS

from services.intake.pg_store import PgIntakeStore
from services.intake.publishing import SOURCE
from services.intake.store import IntakeStore
from services.runtime.app import BackgroundTask
from services.runtime.clock import CausalIds, Clock
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, enqueue, event_message

log = get_logger()
ACTOR = "system:intake"
REQUESTED_BY = "retention"


def _erased_message(
    referral_id: uuid.UUID, destroyed: int, days: float, now: datetime
) -> OutgoingMessage:
    data = PersonalDataErased(
        referral_id=referral_id,
        scope=ErasureScope.RETENTION,
        reason=f"ended more than {days:g} days ago (retention)",
        requested_by=REQUESTED_BY,
        erased_at=now,
        keys_destroyed=destroyed,
    )
    envelope = make_envelope(
        data,
        id=CausalIds("intake/retention", referral_id).new(PersonalDataErased.EVENT_TYPE),
        source=SOURCE,
        time=now,
        subject=str(referral_id),
        correlation_id=referral_id,
        causation_id=None,
        actor=ACTOR,
    )
    return event_message(REFERRAL_EVENTS, str(referral_id), envelope)


async def retire(
    store: IntakeStore, now: datetime, days: float, limit: int
) -> list[OutgoingMessage]:
    """Erase up to ``limit`` referrals ended more than ``days`` before ``now``; returns the
    events that say so, one per referral, to enqueue in the same transaction."""
    due = await store.due_for_erasure(now - timedelta(days=days), limit)
    if not due:
        return []
    destroyed = await store.erase(due, now)
    return [_erased_message(rid, destroyed[rid], days, now) for rid in due]


async def erase_due(pool: "asyncpg.Pool[Any]", clock: Clock, days: float, limit: int) -> int:
    """Erase up to ``limit`` referrals ended more than ``days`` ago; returns how many."""
    now = clock.now()
    async with pool.acquire() as conn, conn.transaction():
        messages = await retire(PgIntakeStore(conn), now, days, limit)
        if not messages:
            return 0
        await enqueue(conn, messages)
    log.info("retention_erased", referrals=len(messages))
    return len(messages)


def retention_loop(
    clock: Clock, days: float, interval_s: float, limit: int = 100
) -> BackgroundTask:
    async def run(pool: "asyncpg.Pool[Any]") -> None:
        while True:
            try:
                while await erase_due(pool, clock, days, limit) == limit:
                    pass
            except (asyncpg.PostgresError, OSError) as error:
                log.warning("retention_pass_failed", error=type(error).__name__)
            await asyncio.sleep(interval_s)

    return run
