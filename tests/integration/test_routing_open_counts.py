"""routing keeps open referrals per agency in a table instead of counting every open
referral on each decision: a referral counts against the agency that holds it as routing
sees it (the log's state with routing's decisions not yet on the log), and after every kind
of transition the kept counts equal the aggregate over the referrals."""

import random
from typing import Any

import asyncpg
import pytest
from referral_schemas import EventData, ReferralOpened

from services.routing import codec
from tests.integration.routing_harness import (
    RoutingInstance,
    aggregate_counts,
    directory,
    kept_counts,
    routing_pool,
    status_of,
)
from tests.support.opened import opened_in as opened
from tests.support.routing_events import About

pytestmark = pytest.mark.integration
__all__ = ["routing_pool"]
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"


def about(referral: ReferralOpened) -> About:
    return About(referral.referral_id)


async def _counts_agree(pool: "asyncpg.Pool[Any]", expected: dict[str, int]) -> None:
    kept = await kept_counts(pool)
    assert kept == await aggregate_counts(pool)
    assert kept == expected


async def _counts_follow_the_states(pool: "asyncpg.Pool[Any]") -> None:
    """Kept counts = the aggregate = what each stored state says holds which agency."""
    rows = await pool.fetch(
        "SELECT correlation_id, lifecycle, pending, reroute_cause FROM referrals"
    )
    holding: dict[str, int] = {}
    for row in rows:
        agency = codec.state_from(*row.values()).effective.holding_agency
        if agency is not None:
            holding[agency] = holding.get(agency, 0) + 1
    await _counts_agree(pool, holding)


async def test_kept_counts_equal_the_aggregate_through_every_transition(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    early, a, b, c, d = (
        opened("LA14"),
        opened("LA14"),
        opened("LA14"),
        opened("LA14"),
        opened("CA1"),
    )

    await routing.handle(early)  # before any directory: waits, holds no capacity
    assert await status_of(routing_pool, early) == ("opened", None)
    await _counts_agree(routing_pool, {})

    await routing.land(await routing.handle(directory(1, capacity=100)))  # routes the waiting
    await _counts_agree(routing_pool, {SOUTH: 1})

    for referral in (a, b, c, d):  # least loaded first, then by code
        await routing.land(await routing.handle(referral))
    assert [(await status_of(routing_pool, r))[1] for r in (a, b, c, d)] == [
        TWC_BARROW,
        SOUTH,
        TWC_BARROW,
        TWC_CARLISLE,
    ]
    await _counts_agree(routing_pool, {SOUTH: 2, TWC_BARROW: 2, TWC_CARLISLE: 1})

    await routing.land(await routing.handle(about(a).declined(TWC_BARROW)))  # one down, one up
    assert await status_of(routing_pool, a) == ("awaiting_acceptance", SOUTH)
    await _counts_agree(routing_pool, {SOUTH: 3, TWC_BARROW: 1, TWC_CARLISLE: 1})

    await routing.handle(about(b).accepted(SOUTH), about(b).completed(SOUTH))  # still held
    assert await status_of(routing_pool, b) == ("completed", SOUTH)
    await _counts_agree(routing_pool, {SOUTH: 3, TWC_BARROW: 1, TWC_CARLISLE: 1})

    await routing.handle(about(b).closed(SOUTH), about(c).cancelled())
    await _counts_agree(routing_pool, {SOUTH: 2, TWC_CARLISLE: 1})

    d_due = await routing_pool.fetchval("SELECT due_by FROM timers")  # d's is the only one
    await routing.land(await routing.handle(about(d).expired(TWC_CARLISLE, d_due)))
    assert await status_of(routing_pool, d) == ("escalated", None)  # nobody else in Carlisle
    await _counts_agree(routing_pool, {SOUTH: 2})

    await routing.land(await routing.handle(about(a).declined(SOUTH)))  # every Barrow agency
    assert await status_of(routing_pool, a) == ("escalated", None)
    await _counts_agree(routing_pool, {SOUTH: 1})

    # Stale or repeated events change nothing.
    await routing.handle(about(a).accepted(SOUTH), about(c).cancelled(), about(b).closed(SOUTH))
    await _counts_agree(routing_pool, {SOUTH: 1})
    await routing.handle(about(early).cancelled())
    await _counts_agree(routing_pool, {})


async def test_a_routed_event_landing_after_a_cancellation_changes_no_count(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1))
    referral = opened("CA1")
    routed = await routing.handle(referral)
    await _counts_agree(routing_pool, {TWC_CARLISLE: 1})  # counted at once
    await routing.handle(about(referral).cancelled())  # lands before routing's offer
    await _counts_agree(routing_pool, {})
    assert await routing.land(routed) == []
    assert await status_of(routing_pool, referral) == ("cancelled", None)
    assert await routing_pool.fetchval("SELECT pending FROM referrals") == []
    await _counts_agree(routing_pool, {})
    assert await routing_pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_capacity_follows_the_kept_counts_within_one_transaction(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1, capacity=1))
    first, second, third = opened("CA1"), opened("CA1"), opened("CA1")

    # Several records in one transaction, as a batch: the second sees the first's place.
    published = await routing.handle(first, second)
    assert [e["type"] for e in published] == ["ReferralRouted", "ReferralEscalated"]
    assert published[1]["data"]["reason"] == "no_agency_with_capacity"
    await _counts_agree(routing_pool, {TWC_CARLISLE: 1})

    # Cancelling frees the place, in the same transaction: the escalated one takes it
    # (escalated first), and the third waits.
    published = await routing.handle(about(first).cancelled(), third)
    assert [(e["type"], e["subject"]) for e in published] == [
        ("ReferralRouted", str(second.referral_id)),
        ("ReferralEscalated", str(third.referral_id)),
    ]
    await _counts_agree(routing_pool, {TWC_CARLISLE: 1})


async def test_a_rolled_back_transaction_leaves_the_counts_as_they_were(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1, capacity=100))
    kept = opened("LA14")
    await routing.handle(kept)
    await routing.handle_then_roll_back(opened("LA14"), opened("CA1"), about(kept).cancelled())
    await _counts_agree(routing_pool, {SOUTH: 1})


async def test_counts_equal_the_aggregate_after_any_sequence_of_events(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    """A seeded random walk over casework's answers, holds, directions and cancellations,
    with routing's own events landing late, in order, among them."""
    rng = random.Random(1010)
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1, capacity=2))
    referrals = [opened(rng.choice(["LA14", "LA13", "LA9", "CA1"])) for _ in range(8)]
    in_flight: dict[str, list[dict[str, Any]]] = {}

    def track(published: list[dict[str, Any]]) -> None:
        for event in published:
            in_flight.setdefault(event["subject"], []).append(event)

    for referral in referrals:
        track(await routing.handle(referral))
    agencies = [SOUTH, TWC_BARROW, TWC_CARLISLE]
    for _ in range(120):
        referral = rng.choice(referrals)
        events = about(referral)
        key = str(referral.referral_id)
        agency = (await status_of(routing_pool, referral))[1] or rng.choice(agencies)
        due_by = await routing_pool.fetchval(
            "SELECT due_by FROM timers WHERE referral_id = $1", referral.referral_id
        )
        choices: list[EventData] = [
            events.declined(agency),
            events.accepted(agency),
            events.completed(agency),
            events.closed(agency),
            events.held(events.at),
            events.resumed(events.at),
            events.directed(rng.choice([*agencies, "no-such-agency"])),
        ]
        if due_by is not None:
            choices.append(events.expired(agency, due_by))
        if rng.random() < 0.1:
            choices.append(events.cancelled())
        if in_flight.get(key) and rng.random() < 0.5:
            track(await routing.land([in_flight[key].pop(0)]))
        else:
            track(await routing.handle(rng.choice(choices)))
        await _counts_follow_the_states(routing_pool)
