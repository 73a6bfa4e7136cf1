"""One contract, two stores: insights' PostgreSQL store and the in-memory fake the handler
tests use behave alike, read back as the referral's facts and as the figures a reader gets
(figures.py's SQL for the one, memory_figures.py for the other), so a handler test on the
fake says what the service does."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest
from referral_schemas import ContactResult, Outcome

import services.insights
from services.insights import domain
from services.insights.domain import (
    AgencyView,
    AreaView,
    DirectoryView,
    IntelligenceFact,
    ReferralFacts,
    Visit,
)
from services.insights.periods import Month
from services.insights.store import (
    InMemoryInsightsStore,
    InsightsFigures,
    InsightsStore,
    PgInsightsStore,
)
from tests.integration.runtime_fixtures import migrated_transaction
from tests.support.insights_events import (
    FORCE,
    Message,
    accepted,
    at,
    cancelled,
    closed,
    completed,
    contact,
    data_of,
    opened,
    routed,
)
from tests.support.insights_story import STORY_FIGURES, programme_story
from tests.unit.test_insights_handlers import AREAS, feed

pytestmark = pytest.mark.integration

MIGRATIONS = Path(services.insights.__file__).with_name("migrations")


class Store(InsightsStore, InsightsFigures, Protocol):
    """What the suite tests: the handlers' seam and the figures of what it keeps."""


Stores = Callable[[], AbstractAsyncContextManager[Store]]
MAY = Month.parse("2024-05")
START = at("2024-05-10 06:00")


@pytest.fixture(params=["in-memory", "postgres"])
def stores(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Stores:
    @asynccontextmanager
    async def in_memory() -> AsyncIterator[Store]:
        yield InMemoryInsightsStore()

    @asynccontextmanager
    async def postgres() -> AsyncIterator[Store]:
        async with migrated_transaction(stack_env, "insights", MIGRATIONS) as conn:
            yield PgInsightsStore(conn)

    return in_memory if request.param == "in-memory" else postgres


def folded(messages: list[Message]) -> ReferralFacts:
    """One referral's facts after its events, as the handler folds them."""
    facts: ReferralFacts | None = None
    for message in messages:
        data = data_of(message)
        facts = domain.decide(
            facts or ReferralFacts(data.referral_id), data, event_id=uuid.uuid4()
        ).facts
    assert facts is not None
    return facts


def worked(rid: uuid.UUID) -> list[Message]:
    return [
        opened(rid, START),
        routed(rid, "barrow", START),
        accepted(rid, START),
        contact(rid, START + timedelta(hours=2), ContactResult.SPOKE_TO_PERSON),
    ]


def view(version: int, areas: dict[str, list[str]]) -> DirectoryView:
    found = tuple(AreaView(code, f"Area {code}", FORCE, tuple(ds)) for code, ds in areas.items())
    return DirectoryView(version, found, (AgencyView("twc-barrow", tuple(areas)),))


def line(ref: str, name: str | None, district: str = "LA14") -> IntelligenceFact:
    return IntelligenceFact(FORCE, ref, district, name, START)


async def test_a_referral_never_seen_loads_blank(stores: Stores) -> None:
    rid = uuid.uuid4()
    async with stores() as store:
        assert await store.load_for_update(rid) == ReferralFacts(rid)


async def test_what_is_saved_is_what_loads_and_a_later_save_replaces_it(stores: Stores) -> None:
    rid = uuid.uuid4()
    first = folded(worked(rid))
    later = folded(
        [
            *worked(rid),
            completed(rid, START, Outcome.SIGNPOSTED),
            closed(rid, START, Outcome.SIGNPOSTED),
        ]
    )
    async with stores() as store:
        await store.load_for_update(rid)
        await store.save(first, START)
        assert await store.load_for_update(rid) == first
        await store.save(later, START + timedelta(days=1))
        assert await store.load_for_update(rid) == later


async def test_a_save_without_a_load_keeps_and_referrals_are_kept_apart(stores: Stores) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    facts = folded(worked(mine))
    async with stores() as store:
        await store.save(facts, START)
        assert await store.load_for_update(other) == ReferralFacts(other)
        assert await store.load_for_update(mine) == facts


async def test_the_directory_in_force_is_the_last_put_in_force(stores: Stores) -> None:
    rid = uuid.uuid4()
    async with stores() as store:
        assert await store.directory_version() == 0
        await store.save(folded([opened(rid, START, "LA9")]), START)
        await store.replace_directory(view(1, {"barrow": ["LA9"], "gone": ["QA1"]}), START)
        assert await store.directory_version() == 1
        await store.replace_directory(view(3, {"kendal": ["LA9"]}), START)
        assert await store.directory_version() == 3
        rows = await store.figures(MAY, MAY)
        assert [(r.area, r.area_name, r.referrals_opened) for r in rows] == [
            ("kendal", "Area kendal", 1)
        ]


async def test_a_referral_ended_cancelled_is_no_outcome_and_keeps_its_verdict(
    stores: Stores,
) -> None:
    done, unrouted = uuid.uuid4(), uuid.uuid4()
    later = START + timedelta(days=2)
    ended = folded(
        [
            *worked(done),
            completed(done, later, Outcome.ENGAGED_WITH_SUPPORT),
            cancelled(done, later),
        ]
    )
    async with stores() as store:
        await store.replace_directory(view(1, AREAS), START)
        await store.save(ended, later)
        await store.save(folded([opened(unrouted, START, "LA9")]), START)  # kendal's district
        rows = {r.area: r for r in await store.figures(MAY, MAY)}
        barrow, kendal = rows["barrow"], rows["kendal"]
        assert (barrow.referrals_opened, barrow.referrals_cancelled) == (1, 1)
        assert set(barrow.outcomes.values()) == {0}
        assert (barrow.engagement_known, barrow.engaged, barrow.engagement_rate) == (1, 1, 1.0)
        assert (barrow.median_hours_to_first_contact, kendal.referrals_opened) == (2.0, 1)


async def test_a_visit_kept_twice_counts_once_in_its_referral_s_area(stores: Stores) -> None:
    rid = uuid.uuid4()
    seen = Visit(uuid.uuid4(), rid, START + timedelta(hours=3))
    async with stores() as store:
        await store.replace_directory(view(1, AREAS), START)
        await store.save(folded(worked(rid)), START)
        await store.add_visit(seen)
        await store.add_visit(seen)
        await store.add_visit(Visit(uuid.uuid4(), uuid.uuid4(), START))  # no referral kept
        rows = {r.area: r for r in await store.figures(MAY, MAY)}
        assert rows["barrow"].visits_completed == 1
        assert rows[None].visits_completed == 1


async def test_intelligence_counts_once_per_reference_and_not_once_discredited(
    stores: Stores,
) -> None:
    async with stores() as store:
        await store.replace_directory(view(1, AREAS), START)
        await store.save_intelligence(line("R1", "DANNY"))
        await store.save_intelligence(line("R1", "DANNY"))  # a resend
        await store.save_intelligence(line("R2", "DANNY"))  # the same line, again
        await store.save_intelligence(line("R3", "BOSS"))
        await store.save_intelligence(line("R4", None))
        await store.discredit_intelligence(FORCE, "R5")  # before it is seen
        await store.save_intelligence(line("R5", "ZED"))
        await store.save_intelligence(line("R6", "MOVED", "LA14"))
        await store.save_intelligence(line("R6", "MOVED", "LA9"))  # refreshed: now in kendal
        rows = {r.area: r.active_county_lines for r in await store.figures(MAY, MAY)}
        assert rows == {"barrow": 2, "kendal": 1}
        await store.discredit_intelligence(FORCE, "R3")
        await store.save_intelligence(line("R3", "BOSS"))  # a resend after the discredit
        rows = {r.area: r.active_county_lines for r in await store.figures(MAY, MAY)}
        assert rows == {"barrow": 1, "kendal": 1}


async def test_the_story_gives_the_same_figures_by_area_and_scope(stores: Stores) -> None:
    stray = uuid.uuid4()
    jan, feb = Month.parse("2024-01"), Month.parse("2024-02")
    async with stores() as store:
        await feed(
            store, [*programme_story("barrow", "LA14"), opened(stray, at("2024-01-09"), "ZZ1")]
        )
        await store.replace_directory(view(1, AREAS), START)  # the directory consumed last
        rows = await store.figures(jan, feb)
        assert [(r.area, r.month) for r in rows] == [
            ("barrow", "2024-01"),
            ("barrow", "2024-02"),
            ("kendal", "2024-01"),
            ("kendal", "2024-02"),
            (None, "2024-01"),
        ]
        for row in rows[:2]:
            expected = STORY_FIGURES[row.month]
            assert {name: getattr(row, name) for name in expected} == expected, row.month
            assert row.area_name == "Area barrow"
        assert (rows[-1].referrals_opened, rows[-1].area_name) == (1, None)
        scoped = await store.figures(jan, feb, scope=frozenset({"kendal"}))
        assert [(r.area, r.referrals_opened) for r in scoped] == [("kendal", 0), ("kendal", 0)]
        asked = await store.figures(jan, jan, area="barrow", scope=frozenset({"barrow"}))
        assert [(r.area, r.month, r.referrals_opened) for r in asked] == [("barrow", "2024-01", 3)]
