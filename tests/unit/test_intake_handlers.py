"""intake's handlers on the in-memory store (tests/unit/intake_desk.py): what a user would
notice, in milliseconds and without a database. Intelligence about a known person joins
their open referral and never a closed one; a withdrawal cancels; a message delivered again
changes nothing; an erasure scrubs the person. A referral's row names no one (keyed hashes);
the person travels sealed for casework, and intake's own copy on the intelligence goes once
the referral no longer needs it."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from referral_schemas import (
    CancellationReason,
    CancellationRequested,
    ErasureRequested,
    ErasureScope,
    LinkBasis,
    PersonalDataErased,
    ReferralLinked,
    ReferralOpened,
)

from services.intake.retention import retire
from services.runtime.errors import Rejection
from tests.support.intake_story import NOW, worked_and_closed
from tests.support.intelligence import submitted, withdrawn
from tests.unit.intake_desk import Desk

pytestmark = pytest.mark.unit


def about_the_same_person(first: dict[str, Any]) -> dict[str, Any]:
    """New intelligence naming the person ``first`` named, at another address."""
    return submitted(subject=first["data"]["subject"])


async def open_one(desk: Desk, message: dict[str, Any]) -> ReferralOpened:
    [opened] = await desk.police(message)
    assert isinstance(opened, ReferralOpened)
    return opened


async def close(desk: Desk, opened: ReferralOpened) -> None:
    """intake reads its ReferralOpened back, then the referral is worked and closed."""
    for data in (opened, *worked_and_closed(opened.referral_id)):
        assert await desk.log(data) == []


async def test_intelligence_about_a_known_person_links_to_their_open_referral() -> None:
    desk = Desk()
    first = submitted()
    opened = await open_one(desk, first)

    [linked] = await desk.police(about_the_same_person(first))

    assert isinstance(linked, ReferralLinked)
    assert linked.referral_id == opened.referral_id
    assert linked.link_basis is LinkBasis.SAME_PERSON
    assert len(desk.store.referrals) == 1


async def test_intelligence_about_a_person_whose_referral_closed_opens_a_new_one() -> None:
    desk = Desk()
    first = submitted()
    closed = await open_one(desk, first)
    await close(desk, closed)

    [opened] = await desk.police(about_the_same_person(first))

    assert isinstance(opened, ReferralOpened)
    assert opened.referral_id != closed.referral_id
    assert opened.previous_referral_id == closed.referral_id
    kept = [
        r.piece for r in desk.store.intelligence.values() if r.referral_id == closed.referral_id
    ]
    assert kept, "the closed referral's intelligence is still known"
    assert all(p.subject is None and p.address is None for p in kept), "no identity kept"


async def test_a_referral_opened_names_the_person_only_sealed_for_casework() -> None:
    desk = Desk()
    message = submitted()
    opened = await open_one(desk, message)

    details = desk.opened_details(opened.referral_id, opened.personal)
    assert details.subject.family_name == message["data"]["subject"]["family_name"]
    assert details.address.postcode == message["data"]["address"]["postcode"]
    row = desk.store.referrals[opened.referral_id].state
    assert row.contents.subject is None, "a referral's row holds keyed hashes, not the person"
    assert row.contents.address is None


async def test_withdrawing_the_only_intelligence_asks_casework_to_cancel() -> None:
    desk = Desk()
    message = submitted()
    opened = await open_one(desk, message)

    [asked] = await desk.police(withdrawn(message, reason="discredited"))

    assert isinstance(asked, CancellationRequested)
    assert asked.referral_id == opened.referral_id
    assert asked.reason is CancellationReason.INTELLIGENCE_WITHDRAWN
    record = desk.store.intelligence[("cumbria", message["data"]["intelligence_ref"])]
    assert (record.status, record.piece.subject, record.piece.address) == ("withdrawn", None, None)
    # Nothing links to it any more: the same person's next intelligence opens a new referral.
    [again] = await desk.police(about_the_same_person(message))
    assert isinstance(again, ReferralOpened)
    assert again.previous_referral_id == opened.referral_id


async def test_a_withdrawal_before_its_intelligence_means_the_intelligence_opens_nothing() -> None:
    desk = Desk()
    message = submitted()
    assert await desk.police(withdrawn(message)) == []

    with pytest.raises(Rejection) as refused:
        await desk.police(message)

    assert refused.value.reason == "withdrawn_before_submission"
    assert desk.store.referrals == {}


@pytest.mark.parametrize("again", ["the same message", "a resend with a new id"])
async def test_intelligence_delivered_again_changes_nothing(again: str) -> None:
    desk = Desk()
    message = submitted()
    await open_one(desk, message)
    before = desk.snapshot()

    repeat = message if again == "the same message" else {**message, "id": str(uuid.uuid4())}
    assert await desk.police(repeat) == []

    assert desk.snapshot() == before


async def test_a_withdrawal_delivered_again_changes_nothing() -> None:
    desk = Desk()
    message = submitted()
    await open_one(desk, message)
    withdrawal = withdrawn(message)
    await desk.police(withdrawal)
    before = desk.snapshot()

    assert await desk.police(withdrawal) == []

    assert desk.snapshot() == before


async def test_an_erasure_of_a_person_scrubs_them_from_every_referral_and_spares_others() -> None:
    desk = Desk()
    first = submitted()
    earlier = await open_one(desk, first)
    await close(desk, earlier)
    later = await open_one(desk, about_the_same_person(first))
    stranger = await open_one(desk, submitted())
    request = ErasureRequested(
        referral_id=earlier.referral_id,
        scope=ErasureScope.PERSON,
        reason="SAR-0001",
        requested_by="operator",
        requested_at=NOW,
    )

    sent = await desk.log(request)

    erased = [e for e in sent if isinstance(e, PersonalDataErased)]
    assert len(erased) == len(sent)
    assert {e.referral_id for e in erased} == {earlier.referral_id, later.referral_id}
    for opened in (earlier, later):
        with pytest.raises(KeyError):  # the key that sealed them is destroyed
            desk.opened_details(opened.referral_id, opened.personal)
        referral = await desk.store.load_referral(opened.referral_id)
        assert referral is not None
        assert referral.contents.person_key is None
        assert all(p.subject is None and p.person_key is None for p in referral.pieces)
    assert desk.opened_details(stranger.referral_id, stranger.personal).subject is not None


async def test_an_erasure_of_a_referral_intake_never_opened_is_refused() -> None:
    desk = Desk()
    await open_one(desk, submitted())
    before = desk.snapshot()
    request = ErasureRequested(
        referral_id=uuid.uuid4(),
        scope=ErasureScope.REFERRAL,
        reason="SAR-0002",
        requested_by="operator",
        requested_at=NOW,
    )
    with pytest.raises(Rejection):
        await desk.log(request)
    assert desk.snapshot() == before


async def test_retention_erases_an_ended_referral_once_and_never_an_open_one() -> None:
    desk = Desk()
    ended = await open_one(desk, submitted())
    await close(desk, ended)
    still_open = await open_one(desk, submitted())
    later = NOW + timedelta(days=400)

    first_pass = await retire(desk.store, later, days=365, limit=10)
    second_pass = await retire(desk.store, later, days=365, limit=10)

    assert [m.key for m in first_pass] == [str(ended.referral_id).encode()]
    assert second_pass == []
    with pytest.raises(KeyError):
        desk.opened_details(ended.referral_id, ended.personal)
    assert desk.opened_details(still_open.referral_id, still_open.personal) is not None
