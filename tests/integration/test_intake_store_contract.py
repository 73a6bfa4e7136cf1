"""One contract, two stores: intake's PostgreSQL store and the in-memory fake the handler
tests use behave alike, so a handler test on the fake says what the service does.

States are made as the handlers make them (intake's pure decisions, tests/unit/intake_story).
The PostgreSQL side runs in a throw-away schema, in one transaction rolled back at the end
(the keyring is the database's own: nothing a test keeps there outlives it).
"""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from referral_schemas import PersonalDetails, ReferralOpened

import services.intake
from services.intake.matching import MatchKeys
from services.intake.memory_store import InMemoryIntakeStore
from services.intake.pg_store import PgIntakeStore
from services.intake.state import IntakeStatus, ReferralState
from services.intake.store import IntakeStore
from services.runtime.sealing import WrappedKey, seal
from tests.integration.runtime_fixtures import migrated_transaction
from tests.support.intake_story import (
    NOW,
    decided,
    fold,
    intel,
    person,
    saved,
    submit,
    withdrawal,
    worked_and_closed,
)
from tests.support.sealing import READER

pytestmark = pytest.mark.integration

MIGRATIONS = Path(services.intake.__file__).with_name("migrations")
Stores = Callable[[], AbstractAsyncContextManager[IntakeStore]]


@pytest.fixture(params=["in-memory", "postgres"])
def stores(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Stores:
    @asynccontextmanager
    async def in_memory() -> AsyncIterator[IntakeStore]:
        yield InMemoryIntakeStore()

    @asynccontextmanager
    async def postgres() -> AsyncIterator[IntakeStore]:
        async with migrated_transaction(stack_env, "intake", MIGRATIONS) as conn:
            yield PgIntakeStore(conn)

    return in_memory if request.param == "in-memory" else postgres


def _about(ref: str, given: str = "Casey", line1: str = "27 Harbour View", **more: Any) -> Any:
    """Intelligence ``ref`` about ``given`` Marsh (born 1987) at ``line1``."""
    address = {"line1": line1, "town": "Barrow-in-Furness", "postcode": "LA14 9ZZ"}
    return intel(
        intelligence_ref=ref, subject=person(given, "Marsh", "1987-11-23"), address=address, **more
    )


def _opened(ref: str, **about: Any) -> ReferralState:
    return saved(decided(submit(_about(ref, **about))))


def _keys(state: ReferralState) -> MatchKeys:
    return MatchKeys(state.contents.person_key, state.contents.address_key)


def _opened_event(state: ReferralState) -> ReferralOpened:
    """The ReferralOpened intake reads back from the log."""
    return ReferralOpened(
        referral_id=state.referral_id,
        force=state.force,
        intelligence_ref=state.pieces[0].ref,
        isa_version="isa-v1",
        opened_at=state.opened_at,
        risk_level=state.contents.risk_level,
        reason_categories=list(state.contents.reason_categories),
        personal=_sealed(state),
        postcode_district=state.contents.postcode_district,
    )


def _closed(state: ReferralState, hours: float = 0) -> ReferralState:
    closed = fold(state, _opened_event(state), *worked_and_closed(state.referral_id))
    assert closed.status is IntakeStatus.CLOSED
    return replace(closed, ended_at=NOW + timedelta(hours=hours))


def _sealing(state: ReferralState) -> Any:
    details = PersonalDetails(subject=state.contents.subject, address=state.contents.address)
    return seal(details, referral_id=state.referral_id, reader=READER.public_key())


def _sealed(state: ReferralState) -> Any:
    return _sealing(state).sealed


def _key(referral_id: uuid.UUID) -> tuple[uuid.UUID, WrappedKey]:
    """A data key intake made for the referral (as its Sealer does)."""
    return referral_id, _sealing(replace(_opened("CUM/0"), referral_id=referral_id)).key


async def test_nothing_is_known_before_anything_is_kept(stores: Stores) -> None:
    state = _opened("CUM/1")
    async with stores() as store:
        assert await store.load_referral(state.referral_id) is None
        assert not await store.knows(state.referral_id)
        assert await store.find_intelligence("cumbria", "CUM/1") is None
        assert not await store.withdrawn_before("cumbria", "CUM/1")
        assert await store.find_open_match(_keys(state)) is None
        assert await store.find_previous(_keys(state)) is None


async def test_an_opened_referral_loads_as_saved_and_its_intelligence_is_found(
    stores: Stores,
) -> None:
    state = _opened("CUM/1")
    async with stores() as store:
        await store.save_referral(state, NOW)
        assert await store.load_referral(state.referral_id) == state
        assert await store.knows(state.referral_id)
        found = await store.find_intelligence("cumbria", "CUM/1")
        assert found is not None
        assert found.active
        assert (found.referral_id, found.person_key) == (state.referral_id, _keys(state).person)
        assert found.address_key == state.contents.address_key


async def test_a_linked_piece_joins_behind_the_lead(stores: Stores) -> None:
    first = _opened("CUM/1")
    async with stores() as store:
        await store.save_referral(first, NOW)
        live = await store.find_open_match(_keys(first))
        assert live == first
        linked = saved(decided(submit(_about("CUM/2", line1="9 Dock Street"), live)))
        await store.save_referral(linked, NOW)
        loaded = await store.load_referral(first.referral_id)
        assert loaded == linked
        assert [p.ref for p in loaded.pieces] == ["CUM/1", "CUM/2"]


async def test_the_open_match_prefers_the_same_person_and_skips_ended_referrals(
    stores: Stores,
) -> None:
    by_address = _opened("CUM/1", given="Robin")
    by_person = _opened("CUM/2", line1="9 Dock Street")
    ended = _closed(_opened("CUM/3"), hours=5)
    asked = _keys(_opened("CUM/4"))  # Casey Marsh at 27 Harbour View
    async with stores() as store:
        await store.save_referral(ended, NOW)
        await store.save_referral(by_address, NOW)
        assert (await store.find_open_match(asked)) == by_address
        await store.save_referral(by_person, NOW)
        match = await store.find_open_match(asked)
        assert match is not None
        assert match.referral_id == by_person.referral_id
        assert await store.find_previous(asked) == ended.referral_id


async def test_the_previous_referral_is_the_latest_ended(stores: Stores) -> None:
    earlier = _closed(_opened("CUM/1"), hours=1)
    later = _closed(_opened("CUM/2"), hours=9)
    async with stores() as store:
        await store.save_referral(later, NOW)
        await store.save_referral(earlier, NOW)
        assert await store.find_previous(_keys(earlier)) == later.referral_id


async def test_a_closed_referral_keeps_no_identity(stores: Stores) -> None:
    opened = _opened("CUM/1")
    closed = _closed(opened)
    async with stores() as store:
        await store.save_referral(opened, NOW)
        await store.save_referral(closed, NOW + timedelta(hours=1))
        loaded = await store.load_referral(opened.referral_id)
        assert loaded == closed
        assert loaded.contents.subject is None
        assert loaded.contents.address is None
        assert all(p.subject is None and p.address is None for p in loaded.pieces)
        assert await store.find_open_match(_keys(opened)) is None


async def test_a_saved_lifecycle_loads_with_the_rest_unchanged(stores: Stores) -> None:
    state = _opened("CUM/1")
    followed = fold(state, _opened_event(state), *worked_and_closed(state.referral_id)[:2])
    assert followed.status is IntakeStatus.OPEN
    async with stores() as store:
        await store.save_referral(state, NOW)
        await store.save_lifecycle(followed, NOW + timedelta(hours=1))
        assert await store.load_referral(state.referral_id) == followed


async def test_a_withdrawn_piece_leaves_its_referral_and_its_identity_is_dropped(
    stores: Stores,
) -> None:
    first = _opened("CUM/1")
    linked = saved(decided(submit(_about("CUM/2", given="Robin"), first)))
    async with stores() as store:
        await store.save_referral(linked, NOW)
        await store.mark_withdrawn(withdrawal("CUM/1"), NOW)
        found = await store.find_intelligence("cumbria", "CUM/1")
        assert found is not None
        assert not found.active
        loaded = await store.load_referral(first.referral_id)
        assert loaded is not None
        assert [p.ref for p in loaded.pieces] == ["CUM/2"]
        assert loaded.contents.subject == linked.pieces[1].subject


async def test_a_withdrawal_before_its_intelligence_is_remembered_once(stores: Stores) -> None:
    early = withdrawal("CUM/9")
    async with stores() as store:
        await store.remember_withdrawal(early, uuid.uuid4(), NOW)
        await store.remember_withdrawal(early, uuid.uuid4(), NOW)
        assert await store.withdrawn_before("cumbria", "CUM/9")
        assert not await store.withdrawn_before("cumbria", "CUM/8")


async def test_erasing_a_person_reaches_every_referral_about_them_and_no_other(
    stores: Stores,
) -> None:
    earlier = _closed(_opened("CUM/1"), hours=1)
    later = _opened("CUM/2", line1="9 Dock Street")
    stranger = _opened("CUM/3", given="Robin", line1="1 Abbey Road")
    async with stores() as store:
        for state in (earlier, later, stranger):
            await store.save_referral(state, NOW)
        await store.keep_keys([_key(earlier.referral_id), _key(earlier.referral_id)])
        await store.keep_keys([_key(later.referral_id), _key(stranger.referral_id)])
        same = await store.same_person(earlier.referral_id)
        assert same == sorted([earlier.referral_id, later.referral_id])
        assert await store.same_person(stranger.referral_id) == [stranger.referral_id]

        destroyed = await store.erase(same, NOW + timedelta(days=1))
        assert destroyed == {earlier.referral_id: 2, later.referral_id: 1}
        for rid in same:
            erased = await store.load_referral(rid)
            assert erased is not None
            assert erased.contents.person_key is None
            assert erased.contents.subject is None
            assert erased.contents.address is None
            assert all(p.person_key is None and p.subject is None for p in erased.pieces)
        assert await store.load_referral(stranger.referral_id) == stranger
        assert await store.erase(same, NOW + timedelta(days=2)) == {rid: 0 for rid in same}
        assert await store.erase([stranger.referral_id], NOW) == {stranger.referral_id: 1}


async def test_ended_referrals_fall_due_for_erasure_oldest_first_and_once(
    stores: Stores,
) -> None:
    older = _closed(_opened("CUM/1"), hours=1)
    newer = _closed(_opened("CUM/2", given="Robin"), hours=2)
    recent = _closed(_opened("CUM/3", given="Alex"), hours=30)
    still_open = _opened("CUM/4", given="Sam")
    cutoff = NOW + timedelta(hours=24)
    async with stores() as store:
        for state in (recent, newer, still_open, older):
            await store.save_referral(state, NOW)
        assert await store.due_for_erasure(cutoff, 10) == [older.referral_id, newer.referral_id]
        assert await store.due_for_erasure(cutoff, 1) == [older.referral_id]
        await store.erase([older.referral_id], cutoff)
        assert await store.due_for_erasure(cutoff, 10) == [newer.referral_id]
