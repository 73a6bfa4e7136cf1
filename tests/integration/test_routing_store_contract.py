"""One contract, two stores: routing's PostgreSQL store and the in-memory fake its handler
tests use behave alike, so a handler test on the fake says what the service does."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from referral_schemas import EventData
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import EscalationReason, ReferralEscalated, ReferralRouted

import services.routing
from services.routing import domain
from services.routing.domain import RoutingState
from services.routing.memory_store import InMemoryRoutingStore
from services.routing.store import DirectoryRef, PgRoutingStore, RoutingStore, Timer
from tests.integration.runtime_fixtures import migrated_transaction
from tests.support.directory import cumbria_directory
from tests.support.referral_log import T0, ReferralLog
from tests.support.routing_view import ReferralView

pytestmark = pytest.mark.integration

MIGRATIONS = Path(services.routing.__file__).with_name("migrations")
Stores = Callable[[], AbstractAsyncContextManager[RoutingStore]]
S = ReferralStatus
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"
FULL = {SOUTH: 30, TWC_BARROW: 40, TWC_CARLISLE: 25}
"""Every agency at its capacity in the Cumbria directory."""
DIRECTORY = DirectoryPublished.model_validate(cumbria_directory(1))
NO_CARLISLE_TEAM = DirectoryPublished.model_validate(
    cumbria_directory(
        1, agencies=[a for a in cumbria_directory(1)["agencies"] if a["code"] != TWC_CARLISLE]
    )
)


@pytest.fixture(params=["in-memory", "postgres"])
def stores(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Stores:
    @asynccontextmanager
    async def in_memory() -> AsyncIterator[RoutingStore]:
        yield InMemoryRoutingStore()

    @asynccontextmanager
    async def postgres() -> AsyncIterator[RoutingStore]:
        async with migrated_transaction(stack_env, "routing", MIGRATIONS) as conn:
            yield PgRoutingStore(conn)

    return in_memory if request.param == "in-memory" else postgres


class Referral:
    """One referral's log and routing's view of it, driven as the handler drives it."""

    def __init__(
        self, district: str, hours: float = 0, directory: DirectoryPublished = DIRECTORY
    ) -> None:
        self.log = ReferralLog()
        opened = self.log.opened(district, hours=hours)
        folded = domain.evolve(None, opened, correlation_id=uuid.uuid4())
        assert isinstance(folded, RoutingState)
        self.view = ReferralView(folded, directory)

    @property
    def state(self) -> RoutingState:
        return self.view.state

    def offered(self) -> "Referral":
        """Offered to an agency, the offer on the log."""
        assert isinstance(self.view.decide(), ReferralRouted)
        assert self.view.land() is None
        return self

    def escalated(self, counts: dict[str, int] = FULL) -> "Referral":
        """Escalated (for lack of capacity when every agency is full), on the log."""
        assert isinstance(self.view.decide(counts, retry=True), ReferralEscalated)
        assert self.view.land() is None
        return self

    def retried(self) -> "Referral":
        """Escalated for lack of capacity, then offered a place that freed up, on the log."""
        assert isinstance(self.view.decide({}, retry=True), ReferralRouted)
        assert self.view.land() is None
        return self

    def receives(self, data: EventData) -> "Referral":
        assert self.view.receive(data) is None
        return self


async def test_a_new_store_holds_nothing(stores: Stores) -> None:
    async with stores() as store:
        assert await store.load_for_update(uuid.uuid4()) is None
        assert await store.latest_directory() is None
        assert await store.open_counts() == {}
        assert await store.load_waiting() == []
        assert await store.load_awaiting_capacity(["barrow", "carlisle"]) == []
        assert await store.take_due_timers(T0 + timedelta(days=365), 10) == []


async def test_what_is_saved_loads_pending_decisions_included_and_a_later_save_replaces_it(
    stores: Stores,
) -> None:
    referral = Referral("LA9")
    referral.view.decide()  # an offer routing published, not yet on the log
    pending = referral.state
    assert pending.pending
    assert pending.effective.status is S.AWAITING_ACCEPTANCE
    async with stores() as store:
        await store.save(pending, T0)
        assert await store.load_for_update(pending.referral_id) == pending
        referral.view.land()
        referral.receives(referral.log.declined(SOUTH))
        await store.save(referral.state, T0 + timedelta(hours=1))
        loaded = await store.load_for_update(pending.referral_id)
        assert loaded == referral.state
        assert loaded is not None
        assert loaded.effective.status is S.REROUTING


async def test_open_counts_follow_the_agency_each_referral_holds(stores: Stores) -> None:
    kendal, kendal_too, carlisle = Referral("LA9"), Referral("LA9"), Referral("CA1")
    waiting = Referral("LA14")
    async with stores() as store:
        for referral in (kendal, kendal_too, carlisle):
            referral.view.decide()  # pending: the place is taken at once
            await store.save(referral.state, T0)
        await store.save(waiting.state, T0)
        assert await store.open_counts() == {SOUTH: 2, TWC_CARLISLE: 1}

        carlisle.view.land()
        await store.save(carlisle.receives(carlisle.log.cancelled()).state, T0)
        kendal.view.land()
        await store.save(kendal.receives(kendal.log.declined(SOUTH)).state, T0)
        assert await store.open_counts() == {SOUTH: 1}, "an agency holding none is left out"


async def test_the_highest_version_is_in_force_and_a_version_is_kept_once(
    stores: Stores,
) -> None:
    first, third, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    v3 = DirectoryPublished.model_validate(cumbria_directory(3))
    async with stores() as store:
        await store.save_directory(DIRECTORY, first, T0)
        await store.save_directory(v3, third, T0)
        await store.save_directory(
            DirectoryPublished.model_validate(cumbria_directory(2)), second, T0
        )
        await store.save_directory(
            DirectoryPublished.model_validate(cumbria_directory(3, capacity=1)), uuid.uuid4(), T0
        )
        ref = await store.latest_directory()
        assert ref == DirectoryRef(3, third)
        assert await store.load_directory(ref) == v3
        assert await store.load_directory(DirectoryRef(1, first)) == DIRECTORY


def _ids(states: list[RoutingState]) -> list[uuid.UUID]:
    return [s.referral_id for s in states]


async def test_waiting_referrals_come_oldest_first_then_retried_escalations_in_order(
    stores: Stores,
) -> None:
    later, earlier = Referral("LA14", hours=2), Referral("LA14", hours=1)
    rerouting = Referral("LA9", hours=0).offered()
    rerouting.receives(rerouting.log.declined(SOUTH))
    full = Referral("CA1", hours=5).escalated()
    uncovered = Referral("CA2", hours=-5, directory=NO_CARLISLE_TEAM).escalated({})
    for_the_police = Referral("LA14", hours=-3)
    for_the_police.receives(for_the_police.log.escalated(EscalationReason.ALL_AGENCIES_DECLINED))
    offered = Referral("LA14", hours=-1).offered()
    async with stores() as store:
        for referral in (later, full, earlier, for_the_police, uncovered, rerouting, offered):
            await store.save(referral.state, T0)
        await store.save(full.state, T0 + timedelta(hours=1))  # still escalated: keeps its place
        assert _ids(await store.load_waiting()) == [
            r.state.referral_id for r in (rerouting, earlier, later, full, uncovered)
        ]


async def test_escalations_for_lack_of_capacity_by_area_in_the_order_escalated(
    stores: Stores,
) -> None:
    carlisle, barrow, carlisle_too = (
        Referral("CA1").escalated(),
        Referral("LA14").escalated(),
        Referral("CA3").escalated(),
    )
    uncovered = Referral("CA2", directory=NO_CARLISLE_TEAM).escalated({})
    async with stores() as store:
        for referral in (carlisle, barrow, uncovered, carlisle_too):
            await store.save(referral.state, T0)
        assert _ids(await store.load_awaiting_capacity(["carlisle"])) == [
            carlisle.state.referral_id,
            carlisle_too.state.referral_id,
        ]
        assert _ids(await store.load_awaiting_capacity(["barrow", "kendal"])) == [
            barrow.state.referral_id
        ]

        # The first is offered a freed place, declined there, and escalated again: it
        # queues behind the one escalated after it.
        barrow_too = Referral("LA13").escalated()
        await store.save(barrow_too.state, T0)
        barrow.retried()
        await store.save(barrow.state, T0)
        assert _ids(await store.load_awaiting_capacity(["barrow"])) == [
            barrow_too.state.referral_id
        ]
        offered_to = barrow.state.effective.agency
        assert offered_to is not None
        barrow.receives(barrow.log.declined(offered_to)).escalated()
        await store.save(barrow.state, T0)
        assert _ids(await store.load_awaiting_capacity(["barrow"])) == [
            barrow_too.state.referral_id,
            barrow.state.referral_id,
        ]


def _timer(hours: float, referral_id: uuid.UUID | None = None) -> Timer:
    return Timer(
        referral_id or uuid.uuid4(), SOUTH, T0 + timedelta(hours=hours), uuid.uuid4(), uuid.uuid4()
    )


async def _saved(store: RoutingStore, *timers: Timer) -> None:
    """Save a referral for each timer: a timer belongs to a referral routing keeps."""
    for timer in timers:
        state = Referral("LA9").state
        lifecycle = replace(state.lifecycle, referral_id=timer.referral_id)
        await store.save(replace(state, lifecycle=lifecycle), T0)


async def test_due_timers_are_taken_once_a_timer_set_again_replaces_it_and_cleared_is_gone(
    stores: Stores,
) -> None:
    first, cleared, due_late = _timer(1), _timer(2), _timer(3)
    moved = _timer(5, first.referral_id)
    async with stores() as store:
        await _saved(store, first, cleared, due_late)
        for timer in (first, cleared, due_late, moved):
            await store.set_timer(timer)
        await store.clear_timer(cleared.referral_id)
        await store.clear_timer(uuid.uuid4())  # no timer: nothing to clear
        assert await store.take_due_timers(T0 + timedelta(hours=4), 10) == [due_late]
        assert await store.take_due_timers(T0 + timedelta(hours=4), 10) == []
        assert await store.take_due_timers(T0 + timedelta(hours=5), 10) == [moved]


async def test_at_most_the_limit_is_taken_the_earliest_due_first(stores: Stores) -> None:
    timers = [_timer(hours) for hours in (3, 1, 2)]
    async with stores() as store:
        await _saved(store, *timers)
        for timer in timers:
            await store.set_timer(timer)
        taken = await store.take_due_timers(T0 + timedelta(hours=3), 2)
        assert sorted(taken, key=lambda t: t.due_by) == [timers[1], timers[2]]
        assert await store.take_due_timers(T0 + timedelta(hours=3), 2) == [timers[0]]
