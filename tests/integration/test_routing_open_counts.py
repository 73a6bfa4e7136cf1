"""routing keeps open referrals per agency in a table instead of counting every open
referral on each decision: after every kind of transition the kept counts equal the
aggregate over the referrals, and capacity decisions follow them."""

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from referral_schemas import ReferralCancelled, ReferralOpened
from referral_schemas.lifecycle_v1 import (
    DeclineReason,
    Outcome,
    ReferralAccepted,
    ReferralClosed,
    ReferralDeclined,
    SlaBreached,
)
from referral_schemas.referral_v1 import CancellationReason

from services.routing import store
from services.routing.domain import RoutingState, Status
from services.runtime.migrations import (
    RUNTIME_MIGRATIONS,
    apply_migrations,
    load_migrations,
    migrate_service,
)
from tests.integration.routing_harness import (
    MIGRATIONS,
    NOW,
    RoutingInstance,
    aggregate_counts,
    directory,
    kept_counts,
    routing_pool,
    status_of,
)
from tests.integration.runtime_fixtures import fresh_schema
from tests.support.opened import opened_in as opened

pytestmark = pytest.mark.integration
__all__ = ["routing_pool"]
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"


def declined(referral: ReferralOpened, agency: str) -> ReferralDeclined:
    return ReferralDeclined(
        referral_id=referral.referral_id,
        agency=agency,
        reason=DeclineReason.NO_CAPACITY,
        declined_at=NOW,
        by="worker-1",
    )


def accepted(referral: ReferralOpened, agency: str) -> ReferralAccepted:
    return ReferralAccepted(
        referral_id=referral.referral_id, agency=agency, accepted_at=NOW, by="worker-1"
    )


def closed(referral: ReferralOpened, agency: str) -> ReferralClosed:
    return ReferralClosed(
        referral_id=referral.referral_id,
        agency=agency,
        outcome=Outcome.ENGAGED_WITH_SUPPORT,
        closed_at=NOW,
        by="worker-1",
    )


def cancelled(referral: ReferralOpened) -> ReferralCancelled:
    return ReferralCancelled(
        referral_id=referral.referral_id,
        reason=CancellationReason.INTELLIGENCE_WITHDRAWN,
        cancelled_at=NOW,
    )


def breached(referral: ReferralOpened, agency: str) -> SlaBreached:
    return SlaBreached(referral_id=referral.referral_id, agency=agency, due_by=NOW, breached_at=NOW)


async def _counts_agree(pool: "asyncpg.Pool[Any]", expected: dict[str, int]) -> None:
    kept = await kept_counts(pool)
    assert kept == await aggregate_counts(pool)
    assert kept == expected


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
    assert await status_of(routing_pool, early) == ("awaiting_directory", None)
    await _counts_agree(routing_pool, {})

    await routing.handle(directory(1, capacity=100))  # routes the waiting referral
    await _counts_agree(routing_pool, {SOUTH: 1})

    for referral in (a, b, c, d):  # least loaded first, then by code
        await routing.handle(referral)
    assert [(await status_of(routing_pool, r))[1] for r in (a, b, c, d)] == [
        TWC_BARROW,
        SOUTH,
        TWC_BARROW,
        TWC_CARLISLE,
    ]
    await _counts_agree(routing_pool, {SOUTH: 2, TWC_BARROW: 2, TWC_CARLISLE: 1})

    await routing.handle(declined(a, TWC_BARROW))  # rerouted: one agency down, one up
    assert await status_of(routing_pool, a) == ("routing", SOUTH)
    await _counts_agree(routing_pool, {SOUTH: 3, TWC_BARROW: 1, TWC_CARLISLE: 1})

    await routing.handle(accepted(b, SOUTH))  # still holds the same agency's capacity
    assert await status_of(routing_pool, b) == ("accepted", SOUTH)
    await _counts_agree(routing_pool, {SOUTH: 3, TWC_BARROW: 1, TWC_CARLISLE: 1})

    await routing.handle(closed(b, SOUTH))
    await routing.handle(cancelled(c))
    await _counts_agree(routing_pool, {SOUTH: 2, TWC_CARLISLE: 1})

    await routing.handle(breached(d, TWC_CARLISLE))  # nobody else covers Carlisle
    assert await status_of(routing_pool, d) == ("escalated", None)
    await _counts_agree(routing_pool, {SOUTH: 2})

    await routing.handle(declined(a, SOUTH))  # every Barrow agency declined it
    assert await status_of(routing_pool, a) == ("escalated", None)
    await _counts_agree(routing_pool, {SOUTH: 1})

    # Stale or repeated events change nothing.
    await routing.handle(accepted(a, SOUTH), cancelled(c), closed(b, SOUTH))
    await _counts_agree(routing_pool, {SOUTH: 1})
    await routing.handle(cancelled(early))
    await _counts_agree(routing_pool, {})


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

    # Closing frees the place for the next referral, in the same transaction.
    published = await routing.handle(closed(first, TWC_CARLISLE), third)
    assert [(e["type"], e["data"]["agency"]) for e in published] == [
        ("ReferralRouted", TWC_CARLISLE)
    ]
    await _counts_agree(routing_pool, {TWC_CARLISLE: 1})


async def test_a_rolled_back_transaction_leaves_the_counts_as_they_were(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1, capacity=100))
    kept = opened("LA14")
    await routing.handle(kept)
    await routing.handle_then_roll_back(opened("LA14"), opened("CA1"), cancelled(kept))
    await _counts_agree(routing_pool, {SOUTH: 1})


async def test_the_migration_counts_the_referrals_already_open(
    stack_env: dict[str, str],
) -> None:
    before = [m for m in load_migrations(MIGRATIONS, "routing") if m.version.endswith("_routing")]
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    held = [
        (Status.ROUTING, "twc-barrow"),
        (Status.ROUTING, "twc-barrow"),
        (Status.ACCEPTED, "twc-barrow"),
        (Status.ACCEPTED, "twc-carlisle"),
        (Status.CLOSED, "twc-carlisle"),
        (Status.CANCELLED, "twc-barrow"),
        (Status.ESCALATED, None),
        (Status.AWAITING_DIRECTORY, None),
    ]
    async with fresh_schema(stack_env) as schema:
        conn = await schema.connect()
        try:
            await apply_migrations(conn, load_migrations(RUNTIME_MIGRATIONS, "runtime") + before)
            for status, agency in held:
                state = RoutingState(uuid.uuid4(), uuid.uuid4(), "LA14", at, status, agency=agency)
                await store.save_referral(conn, state, at)
            assert await migrate_service(conn, "routing", MIGRATIONS) == [
                "routing/0002_agency_open_counts"
            ]
            kept = {
                r["agency"]: r["open"]
                for r in await conn.fetch("SELECT agency, open FROM agency_open_counts")
            }
            assert kept == {"twc-barrow": 3, "twc-carlisle": 1}
            assert await store.open_counts(conn) == kept
        finally:
            await conn.close()
