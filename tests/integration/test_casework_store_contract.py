"""One contract, two stores: casework's PostgreSQL store and the in-memory fake the handler
and use-case tests use behave alike, so a test on the fake says what the service does."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from referral_schemas import Envelope, RiskLevel
from referral_schemas.lifecycle_v1 import ReferralAccepted
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

import services.casework
from services.casework.domain import CaseState, Status, evolve
from services.casework.store import (
    CaseworkStore,
    IdempotencyKey,
    InMemoryCaseworkStore,
    PgCaseworkStore,
    QueueQuery,
    Stored,
    StoredResponse,
)
from services.runtime.outbox import OutgoingMessage
from tests.integration.runtime_fixtures import migrated_transaction
from tests.unit.test_casework_helpers import (
    AGENCY,
    FORCE,
    NOW,
    OTHER_AGENCY,
    opened,
    routed,
    staff_event,
)

pytestmark = pytest.mark.integration

MIGRATIONS = Path(services.casework.__file__).with_name("migrations")
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Subject:
    """A store under test, inside one transaction, and what it has published so far."""

    store: CaseworkStore
    published: Callable[[], Any]


Stores = Callable[[], AbstractAsyncContextManager[Subject]]


@pytest.fixture(params=["in-memory", "postgres"])
def stores(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Stores:
    @asynccontextmanager
    async def in_memory() -> AsyncIterator[Subject]:
        store = InMemoryCaseworkStore()

        async def published() -> list[OutgoingMessage]:
            return list(store.outbox)

        yield Subject(store, published)

    @asynccontextmanager
    async def postgres() -> AsyncIterator[Subject]:
        async with migrated_transaction(stack_env, "casework", MIGRATIONS) as conn:

            async def published() -> list[OutgoingMessage]:
                rows = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
                return [OutgoingMessage(r["topic"], r["key"], r["value"]) for r in rows]

            yield Subject(PgCaseworkStore(conn), published)

    return in_memory if request.param == "in-memory" else postgres


def folded(*envelopes: Envelope[Any]) -> CaseState:
    state: CaseState | None = None
    for envelope in envelopes:
        result = evolve(state, envelope)
        assert isinstance(result, CaseState)
        state = result
    assert state is not None
    return state


def awaiting(
    *,
    agency: str = AGENCY,
    risk: RiskLevel = RiskLevel.HIGH,
    due_in: timedelta = timedelta(hours=48),
    area: str = "barrow",
    force: str = FORCE,
    opened_after: timedelta = timedelta(0),
) -> CaseState:
    """A referral routed to ``agency`` and awaiting its answer."""
    rid = uuid.uuid4()
    return folded(
        opened(rid, risk=risk, force=force, at=NOW + opened_after),
        routed(rid, agency=agency, area=area, due_by=NOW + due_in),
    )


def accepted_by(state: CaseState, agency: str = AGENCY) -> Envelope[Any]:
    data = ReferralAccepted(
        referral_id=state.referral_id, agency=agency, accepted_at=NOW, by="worker-1"
    )
    return staff_event(data, state.referral_id)


def agency_queue(agency: str = AGENCY, **narrowed: Any) -> QueueQuery:
    fields: dict[str, Any] = {"status": None, "area": None, "overdue": None}
    fields |= {"limit": 50, "offset": 0, "now": NOW + timedelta(hours=1)} | narrowed
    return QueueQuery("agency", agency, **fields)


async def ids_of(store: CaseworkStore, query: QueueQuery) -> tuple[list[uuid.UUID], int]:
    states, total = await store.queue(query)
    return [s.referral_id for s in states], total


async def test_a_referral_never_stored_loads_as_none(stores: Stores) -> None:
    async with stores() as subject:
        assert await subject.store.load(uuid.uuid4(), lock=True) is None
        assert await subject.store.load(uuid.uuid4(), lock=False) is None


async def test_what_is_saved_loads_back_and_a_later_save_replaces_it(stores: Stores) -> None:
    state = awaiting()
    accept = accepted_by(state)
    async with stores() as subject:
        store = subject.store
        await store.save(state)
        assert await store.load(state.referral_id, lock=True) == Stored(state)
        await store.save(state, [accept])
        loaded = await store.load(state.referral_id, lock=False)
        assert loaded == Stored(state, (accept,))
        assert loaded.shown.status is Status.ACCEPTED
        assert loaded.state.status is Status.AWAITING_ACCEPTANCE


async def test_an_agency_queue_holds_its_own_referrals_as_staff_see_them(stores: Stores) -> None:
    mine, theirs = awaiting(), awaiting(agency=OTHER_AGENCY)
    taken = awaiting()
    async with stores() as subject:
        store = subject.store
        for state in (mine, theirs):
            await store.save(state)
        await store.save(taken, [accepted_by(taken)])
        states, total = await store.queue(agency_queue())
        assert ({s.referral_id for s in states}, total) == (
            {mine.referral_id, taken.referral_id},
            2,
        )
        [shown_taken] = [s for s in states if s.referral_id == taken.referral_id]
        assert shown_taken.status is Status.ACCEPTED, "the pending decision laid over"
        accepted = agency_queue(status=Status.ACCEPTED)
        assert await ids_of(store, accepted) == ([taken.referral_id], 1)
        police = QueueQuery("force", FORCE, None, None, None, 50, 0, NOW)
        assert (await ids_of(store, police))[1] == 3
        assert await ids_of(
            store, QueueQuery("force", "lancashire", None, None, None, 50, 0, NOW)
        ) == ([], 0)


async def test_a_queue_is_ordered_by_risk_then_deadline_then_opening(stores: Stores) -> None:
    medium = awaiting(risk=RiskLevel.MEDIUM, due_in=timedelta(hours=1))
    late = awaiting(due_in=timedelta(hours=40))
    soon = awaiting(due_in=timedelta(hours=2))
    critical = awaiting(risk=RiskLevel.CRITICAL, due_in=timedelta(hours=47))
    tie_later = awaiting(due_in=timedelta(hours=2), opened_after=timedelta(minutes=5))
    async with stores() as subject:
        for state in (medium, late, tie_later, soon, critical):
            await subject.store.save(state)
        expected = [critical, soon, tie_later, late, medium]
        ids, total = await ids_of(subject.store, agency_queue())
        assert (ids, total) == ([s.referral_id for s in expected], 5)
        page = agency_queue(limit=2, offset=1)
        assert await ids_of(subject.store, page) == ([soon.referral_id, tie_later.referral_id], 5)


async def test_a_queue_narrows_by_area_and_by_overdue(stores: Stores) -> None:
    overdue = awaiting(due_in=timedelta(minutes=30), area="furness")
    in_time = awaiting(due_in=timedelta(hours=30), area="furness")
    elsewhere = awaiting(due_in=timedelta(minutes=30), area="kendal")
    async with stores() as subject:
        store = subject.store
        for state in (overdue, in_time, elsewhere):
            await store.save(state)
        furness = await ids_of(store, agency_queue(area="furness"))
        assert (set(furness[0]), furness[1]) == ({overdue.referral_id, in_time.referral_id}, 2)
        late = await ids_of(store, agency_queue(overdue=True))
        assert (set(late[0]), late[1]) == ({overdue.referral_id, elsewhere.referral_id}, 2)
        both = agency_queue(area="furness", overdue=False)
        assert await ids_of(store, both) == ([in_time.referral_id], 1)


async def test_a_timeline_keeps_each_event_once_in_order(stores: Stores) -> None:
    rid = uuid.uuid4()
    first, second = opened(rid), routed(rid)
    late = routed(rid)
    async with stores() as subject:
        store = subject.store
        await store.save(folded(first, second))
        await store.add_to_timeline(first)
        await store.add_to_timeline(second)
        await store.add_to_timeline(first)  # again: kept once
        await store.add_to_timeline(late, "not_awaiting_routing")
        entries = await store.timeline(rid)
        assert [(e["event_id"], e["no_effect"]) for e in entries] == [
            (first.id, None),
            (second.id, None),
            (late.id, "not_awaiting_routing"),
        ]
        assert entries[1] == {
            "event_id": second.id,
            "type": "ReferralRouted",
            "at": second.time,
            "actor": second.actor,
            "agency": None,
            "summary": entries[1]["summary"],
            "no_effect": None,
        }
        assert entries[1]["summary"]["agency"] == AGENCY
        assert await store.timeline(uuid.uuid4()) == []


async def test_the_latest_trace_is_the_last_event_that_carried_one(stores: Stores) -> None:
    rid = uuid.uuid4()
    first = opened(rid).model_copy(update={"traceparent": TRACE, "tracestate": "hub=1"})
    later = routed(rid)  # no trace context
    async with stores() as subject:
        store = subject.store
        await store.save(folded(first, later))
        assert await store.latest_trace(rid) == (None, None)
        await store.add_to_timeline(first)
        await store.add_to_timeline(later)
        assert await store.latest_trace(rid) == (TRACE, "hub=1")


async def test_an_answer_is_kept_per_key_user_and_scope(stores: Stores) -> None:
    key = IdempotencyKey("agency:twc-barrow force:", "worker-1", "k-1")
    elsewhere = IdempotencyKey("agency:twc-kendal force:", "worker-1", "k-1")
    answer = StoredResponse("f" * 64, 200, {"events": ["ReferralAccepted"], "status": "accepted"})
    async with stores() as subject:
        store = subject.store
        assert await store.lock_idempotency_key(key) is None
        await store.store_response(key, answer)
        assert await store.lock_idempotency_key(key) == answer
        assert await store.lock_idempotency_key(elsewhere) is None


async def test_a_key_is_answered_only_once(stores: Stores) -> None:
    key = IdempotencyKey("agency:twc-barrow force:", "worker-1", "k-1")
    async with stores() as subject:
        await subject.store.store_response(key, StoredResponse("a", 200, {}))
        with pytest.raises((asyncpg.UniqueViolationError, KeyError)):
            await subject.store.store_response(key, StoredResponse("b", 200, {}))


async def test_the_directory_in_force_is_the_highest_version_kept(stores: Stores) -> None:
    v2 = [{"code": "twc-barrow", "name": "Barrow", "active": True, "areas": ["barrow"]}]
    v1 = [{"code": "twc-kendal", "name": "Kendal", "active": False, "areas": []}]
    async with stores() as subject:
        store = subject.store
        assert await store.directory_agencies() is None
        assert await store.save_directory(2, v2, NOW) is True
        assert await store.save_directory(1, v1, NOW) is True
        assert await store.save_directory(2, v1, NOW) is False, "a version is kept once"
        assert await store.directory_agencies() == v2


async def test_what_is_enqueued_is_published_in_order(stores: Stores) -> None:
    one = OutgoingMessage(REFERRAL_EVENTS, b"r-1", b"first")
    two = OutgoingMessage(ACCESS_EVENTS, b"r-1", b"second")
    async with stores() as subject:
        await subject.store.enqueue([])
        await subject.store.enqueue([one, two])
        sent = await subject.published()
        assert [(m.topic, m.key, m.value) for m in sent] == [
            (REFERRAL_EVENTS, b"r-1", b"first"),
            (ACCESS_EVENTS, b"r-1", b"second"),
        ]
