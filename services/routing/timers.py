"""The acceptance-deadline timer loop: due timers become SlaBreached events.

A breach is only a proposal. Casework, the owner of competing decisions, answers it with
OfferExpired if the offer is still open at that agency with that deadline (not accepted,
declined or held meanwhile), and routing reroutes on the OfferExpired, never on the breach:
so replaying the event log reproduces the reroute without consulting the clock, and a
breach racing an acceptance cannot undo it. The timers follow each referral's deadline
(effects.record): cleared while it is held, set again when the hold is lifted. Taking the
timer and enqueueing the event share one transaction: a crash fires it again or not at all,
and a re-fire carries the same event id (derived from referral, agency and deadline).
"""

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from referral_schemas import make_envelope
from referral_schemas.lifecycle_v1 import SlaBreached
from referral_schemas.topics import REFERRAL_EVENTS

from services.routing.effects import ACTOR, SOURCE
from services.routing.store import PgRoutingStore, RoutingStore, Timer
from services.runtime.app import BackgroundTask
from services.runtime.clock import CausalIds, Clock
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, enqueue, event_message

log = get_logger()


def breach_message(timer: Timer, now: datetime) -> OutgoingMessage:
    ids = CausalIds(f"routing/sla/{timer.agency}/{timer.due_by.isoformat()}", timer.referral_id)
    referral_id = str(timer.referral_id)
    event = SlaBreached(
        referral_id=timer.referral_id, agency=timer.agency, due_by=timer.due_by, breached_at=now
    )
    envelope = make_envelope(
        event,
        id=ids.new(SlaBreached.EVENT_TYPE),
        source=SOURCE,
        time=now,
        subject=referral_id,
        correlation_id=timer.correlation_id,
        causation_id=timer.causation_id,
        actor=ACTOR,
    )
    return event_message(REFERRAL_EVENTS, referral_id, envelope)


async def take_breaches(
    store: RoutingStore, now: datetime, limit: int
) -> dict[uuid.UUID, OutgoingMessage]:
    """Take up to ``limit`` timers due by ``now`` from ``store``: the SlaBreached event for
    each, by referral (a referral has one timer at most)."""
    timers = await store.take_due_timers(now, limit)
    return {t.referral_id: breach_message(t, now) for t in timers}


async def fire_due_timers(pool: "asyncpg.Pool[Any]", clock: Clock, limit: int) -> int:
    """Fire up to ``limit`` due timers; returns how many fired."""
    async with pool.acquire() as conn, conn.transaction():
        breaches = await take_breaches(PgRoutingStore(conn), clock.now(), limit)
        await enqueue(conn, list(breaches.values()))
    for referral_id in breaches:
        log.info("sla_breached", referral_id=str(referral_id))
    return len(breaches)


def timer_loop(clock: Clock, poll_interval_s: float, batch_size: int) -> BackgroundTask:
    async def run(pool: "asyncpg.Pool[Any]") -> None:
        log.info("timer_loop_started")
        while True:
            fired = 0
            try:
                fired = await fire_due_timers(pool, clock, batch_size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost connection must not stop deadlines for good
                log.warning("timer_loop_error", error=type(exc).__name__)
            if fired < batch_size:
                await asyncio.sleep(poll_interval_s)

    return run
