"""routing's durable acceptance timers follow each referral's deadline: a hold clears the
timer, lifting it sets a new one for the time that was left, and a timer fires SlaBreached
once per deadline. Routing moves the referral on casework's OfferExpired, never on its own
SlaBreached."""

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from referral_schemas import ReferralOpened

from services.routing.timers import fire_due_timers
from tests.integration.routing_harness import (
    NOW,
    RoutingInstance,
    directory,
    routing_pool,
    status_of,
)
from tests.support.clock import FixedClock
from tests.support.opened import opened_in as opened
from tests.support.routing_events import About

pytestmark = pytest.mark.integration
__all__ = ["routing_pool"]
SOUTH, TWC_BARROW = "cumbria-recovery-south", "twc-barrow"


async def _timer(
    pool: "asyncpg.Pool[Any]", referral: ReferralOpened
) -> tuple[str, datetime] | None:
    row = await pool.fetchrow(
        "SELECT agency, due_by FROM timers WHERE referral_id = $1", referral.referral_id
    )
    return (row["agency"], row["due_by"]) if row is not None else None


async def _fire(pool: "asyncpg.Pool[Any]", at: datetime) -> list[dict[str, Any]]:
    """Fire the timers due at ``at``; the SlaBreached events they enqueued."""
    await pool.execute("DELETE FROM outbox")
    await fire_due_timers(pool, FixedClock(at), 100)
    rows = await pool.fetch("SELECT value FROM outbox ORDER BY id")
    return [json.loads(r["value"]) for r in rows]


async def _offered_in_kendal(routing: RoutingInstance) -> ReferralOpened:
    """A Kendal referral (one agency covers Kendal), offered, the offer seen on the log."""
    await routing.handle(directory(1))
    referral = opened("LA9")
    await routing.land(await routing.handle(referral))
    return referral


async def test_a_hold_pauses_the_timer_and_lifting_it_runs_the_time_that_was_left(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    referral = await _offered_in_kendal(routing)
    events = About(referral.referral_id)
    assert await _timer(routing_pool, referral) == (SOUTH, NOW + timedelta(hours=48))

    await routing.handle(events.held(NOW + timedelta(hours=10)))
    assert await _timer(routing_pool, referral) is None
    assert await _fire(routing_pool, NOW + timedelta(days=10)) == [], "no breach while held"

    resumed_at = NOW + timedelta(days=3)
    await routing.handle(events.resumed(resumed_at))
    due_by = resumed_at + timedelta(hours=38)
    assert await _timer(routing_pool, referral) == (SOUTH, due_by)

    assert await _fire(routing_pool, due_by - timedelta(seconds=1)) == []
    (breach,) = await _fire(routing_pool, due_by)
    assert (breach["type"], breach["subject"]) == ("SlaBreached", str(referral.referral_id))
    assert datetime.fromisoformat(breach["data"]["due_by"]) == due_by
    assert await _fire(routing_pool, due_by + timedelta(days=1)) == [], "once per deadline"


async def test_a_breach_moves_nothing_and_an_expiry_moves_the_timer_to_the_next_agency(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1))
    referral = opened("LA14")
    await routing.land(await routing.handle(referral))
    events = About(referral.referral_id)
    first_due = NOW + timedelta(hours=48)
    assert await _timer(routing_pool, referral) == (SOUTH, first_due)
    (breach,) = await _fire(routing_pool, first_due)
    assert breach["type"] == "SlaBreached"

    assert await routing.handle(events.breached(SOUTH, first_due)) == []
    assert await status_of(routing_pool, referral) == ("awaiting_acceptance", SOUTH)

    routing.clock.at = first_due + timedelta(minutes=1)
    (rerouted,) = await routing.handle(events.expired(SOUTH, first_due))  # casework's answer
    assert rerouted["type"] == "ReferralRerouted"
    assert rerouted["data"]["cause"] == "acceptance_deadline_missed"
    assert await _timer(routing_pool, referral) == (
        TWC_BARROW,
        routing.clock.at + timedelta(hours=48),
    )


async def test_acceptance_and_cancellation_clear_the_timer(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    accepted = await _offered_in_kendal(routing)
    cancelled = opened("LA9")
    await routing.handle(cancelled)  # its offer not yet seen on the log
    assert await _timer(routing_pool, cancelled) is not None
    await routing.handle(
        About(accepted.referral_id).accepted(SOUTH), About(cancelled.referral_id).cancelled()
    )
    assert await _timer(routing_pool, accepted) is None
    assert await _timer(routing_pool, cancelled) is None
    assert await _fire(routing_pool, NOW + timedelta(days=30)) == []
