"""One contract, two stores: feedback's PostgreSQL store and the in-memory fake the handler
tests use behave alike, so a handler test on the fake says what the service does."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from referral_schemas.lifecycle import Lifecycle, evolve

import services.feedback
from services.feedback.domain import FeedbackState
from services.feedback.store import FeedbackStore, InMemoryFeedbackStore, PgFeedbackStore
from tests.integration.runtime_fixtures import migrated_transaction
from tests.support.referral_log import ReferralLog

pytestmark = pytest.mark.integration

MIGRATIONS = Path(services.feedback.__file__).with_name("migrations")
Stores = Callable[[], AbstractAsyncContextManager[FeedbackStore]]


@pytest.fixture(params=["in-memory", "postgres"])
def stores(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Stores:
    @asynccontextmanager
    async def in_memory() -> AsyncIterator[FeedbackStore]:
        yield InMemoryFeedbackStore()

    @asynccontextmanager
    async def postgres() -> AsyncIterator[FeedbackStore]:
        async with migrated_transaction(stack_env, "feedback", MIGRATIONS) as conn:
            yield PgFeedbackStore(conn)

    return in_memory if request.param == "in-memory" else postgres


def _worked(log: ReferralLog, events: int) -> Lifecycle:
    state: Lifecycle | None = None
    for data in log.worked_to_a_close()[:events]:
        folded = evolve(state, data)
        assert isinstance(folded, Lifecycle)
        state = folded
    assert state is not None
    return state


async def test_a_referral_never_seen_loads_blank(stores: Stores) -> None:
    log = ReferralLog()
    async with stores() as states:
        assert await states.load_for_update(log.referral_id) == FeedbackState(log.referral_id)


async def test_what_is_saved_is_what_loads_and_a_later_save_replaces_it(stores: Stores) -> None:
    log = ReferralLog()
    first = FeedbackState(log.referral_id, _worked(log, 3), (("cumbria", "CUM/2026/000001"),))
    later = FeedbackState(
        log.referral_id,
        _worked(log, 6),
        (("cumbria", "CUM/2026/000001"), ("cumbria", "CUM/2026/000002")),
        reported_at=log.at(300),
    )
    async with stores() as states:
        await states.save(first, log.at(10))
        assert await states.load_for_update(log.referral_id) == first
        await states.save(later, log.at(300) + timedelta(seconds=1))
        assert await states.load_for_update(log.referral_id) == later


async def test_referrals_are_kept_apart(stores: Stores) -> None:
    one, other = ReferralLog(), ReferralLog()
    mine = FeedbackState(one.referral_id, _worked(one, 2), (("cumbria", "CUM/2026/000001"),))
    async with stores() as states:
        await states.save(mine, one.at(5))
        assert await states.load_for_update(other.referral_id) == FeedbackState(other.referral_id)
        assert await states.load_for_update(one.referral_id) == mine
