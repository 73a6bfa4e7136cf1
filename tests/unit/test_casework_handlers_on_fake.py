"""What a worker would notice of casework's handlers and use cases, on the in-memory store
(milliseconds, no database): the queue after events and actions, a cancelled referral that
stays cancelled, redelivered events and retried actions done once, and each agency seeing
only its own referrals."""

import uuid
from typing import Any

import pytest
from referral_schemas import Envelope, load_sample, parse_event
from referral_schemas.lifecycle_v1 import DeclineReason
from referral_schemas.resolution_v1 import DirectionReason
from referral_schemas.topics import ACCESS_EVENTS, DIRECTORY, REFERRAL_EVENTS

from services.casework import decisions as d
from services.casework.domain import Status
from services.casework.usecases import Refused
from services.runtime.errors import Rejection
from tests.unit.casework_on_fake import Casework
from tests.unit.test_casework_helpers import (
    AGENCY,
    OTHER_AGENCY,
    auditor,
    breached,
    cancellation_requested,
    escalated,
    expired,
    opened,
    police,
    routed,
    worker,
)

pytestmark = pytest.mark.unit


async def routed_referral(casework: Casework) -> uuid.UUID:
    rid = uuid.uuid4()
    assert await casework.feed(opened(rid), routed(rid)) == []
    return rid


def refusal_code(refused: pytest.ExceptionInfo[Refused]) -> str:
    return refused.value.refusal.code


async def test_a_routed_referral_waits_in_its_agencys_queue_and_its_forces() -> None:
    casework = Casework()
    rid = await routed_referral(casework)

    page = await casework.queue(worker())
    assert [(i.referral_id, i.status, i.agency) for i in page.items] == [
        (rid, Status.AWAITING_ACCEPTANCE, AGENCY)
    ]
    assert page.total == 1
    assert (await casework.queue(police())).total == 1
    assert (await casework.queue(worker(agency=OTHER_AGENCY))).total == 0
    assert (await casework.queue(police(force="lancashire"))).total == 0
    with pytest.raises(Refused) as refused:
        await casework.queue(auditor())
    assert refusal_code(refused) == "role_not_allowed"


async def test_an_accepted_referral_shows_at_once_and_stays_once_read_back() -> None:
    casework = Casework()
    rid = await routed_referral(casework)

    response = await casework.act(rid, d.Accept(), worker())

    assert response.status_code == 200
    assert (response.body["status"], response.body["events"]) == (
        "accepted",
        ["ReferralAccepted", "ReferralAssigned"],
    )
    [item] = (await casework.queue(worker())).items
    assert (item.status, item.assigned_to) == (Status.ACCEPTED, "worker-1")
    assert casework.published() == [
        (REFERRAL_EVENTS, "ReferralAccepted"),
        (REFERRAL_EVENTS, "ReferralAssigned"),
    ]
    assert await casework.read_back_from_log() == ["ReferralAccepted", "ReferralAssigned"]
    stored = await casework.store.load(rid, lock=False)
    assert stored is not None
    assert stored.pending == ()
    assert stored.state.status is Status.ACCEPTED
    [item] = (await casework.queue(worker(), status=Status.ACCEPTED)).items
    assert (item.status, item.assigned_to) == (Status.ACCEPTED, "worker-1")


async def test_a_cancelled_referral_stays_cancelled_and_cannot_be_accepted() -> None:
    casework = Casework()
    rid = await routed_referral(casework)

    answers = await casework.feed(cancellation_requested(rid))

    assert [parse_event(m.value).type for m in answers] == ["ReferralCancelled"]
    [item] = (await casework.queue(worker())).items
    assert (item.status, item.cancel_reason) == (Status.CANCELLED, "moved_away")
    before = casework.snapshot()
    with pytest.raises(Refused) as refused:
        await casework.act(rid, d.Accept(), worker())
    assert refusal_code(refused) == "referral_cancelled"
    assert casework.snapshot() == before, "a refused action changes nothing"

    await casework.read_back_from_log(*answers)
    assert await casework.feed(routed(rid)) == []  # a routing decided earlier, landing late
    [item] = (await casework.queue(worker())).items
    assert item.status is Status.CANCELLED
    detail = await casework.consult(rid, police())
    assert (detail.timeline[-1].type, detail.timeline[-1].no_effect) == (
        "ReferralRouted",
        "referral_cancelled",
    )
    with pytest.raises(Refused) as refused:
        await casework.act(rid, d.Accept(), worker())
    assert refusal_code(refused) == "referral_cancelled"


async def test_an_event_delivered_again_changes_nothing() -> None:
    casework = Casework()
    rid = uuid.uuid4()
    first, second = opened(rid), routed(rid)
    await casework.feed(first, second)
    before = casework.snapshot()

    assert await casework.feed(second, first) == []

    assert casework.snapshot()[:2] == before[:2], "the same state and timeline"
    assert len((await casework.consult(rid, worker())).timeline) == 2


async def test_a_proposal_delivered_again_is_answered_once() -> None:
    casework = Casework()
    rid = await routed_referral(casework)
    proposal = breached(rid)

    first = await casework.feed(proposal)
    again = await casework.feed(proposal)

    assert [parse_event(m.value).type for m in first] == ["OfferExpired"]
    assert again == []
    assert (await casework.queue(worker(), status=Status.AWAITING_ACCEPTANCE)).total == 0


async def test_an_action_retried_with_its_key_is_done_once() -> None:
    casework = Casework()
    rid = await routed_referral(casework)

    first = await casework.act(rid, d.Accept(), worker(), key="accept-1")
    again = await casework.act(rid, d.Accept(), worker(), key="accept-1")

    assert again == first
    assert [t for _, t in casework.published()] == ["ReferralAccepted", "ReferralAssigned"]
    with pytest.raises(Refused) as refused:
        await casework.act(rid, d.Decline(DeclineReason.NO_CAPACITY), worker(), key="accept-1")
    assert refusal_code(refused) == "idempotency_key_reused"


async def test_the_same_key_at_another_agency_is_another_request() -> None:
    casework = Casework()
    ours = await routed_referral(casework)
    theirs = uuid.uuid4()
    await casework.feed(opened(theirs), routed(theirs, agency=OTHER_AGENCY))

    await casework.act(ours, d.Accept(), worker(), key="k")
    await casework.act(theirs, d.Accept(), worker(agency=OTHER_AGENCY), key="k")

    assert len(casework.published()) == 4


async def test_another_agency_is_told_the_referral_does_not_exist() -> None:
    casework = Casework()
    rid = await routed_referral(casework)
    stranger = worker("worker-9", agency=OTHER_AGENCY)
    before = casework.snapshot()

    for attempt in (
        casework.consult(rid, stranger),
        casework.act(rid, d.Accept(), stranger),
        casework.consult(uuid.uuid4(), worker()),
    ):
        with pytest.raises(Refused) as refused:
            await attempt
        assert refusal_code(refused) == "not_found"

    assert casework.snapshot() == before, "nothing recorded, not even a consultation"


async def test_a_read_is_recorded_as_a_consultation_with_the_person_opened() -> None:
    casework = Casework()
    rid = await routed_referral(casework)

    detail = await casework.consult(rid, worker())

    assert detail.status is Status.AWAITING_ACCEPTANCE
    assert detail.subject is not None
    assert detail.address is not None
    assert [e.type for e in detail.timeline] == ["ReferralOpened", "ReferralRouted"]
    assert casework.published() == [(ACCESS_EVENTS, "ReferralConsulted")]


async def test_an_event_for_a_referral_never_opened_is_rejected_and_keeps_nothing() -> None:
    casework = Casework()

    with pytest.raises(Rejection):
        await casework.feed(routed(uuid.uuid4()))

    assert casework.store.referrals == {}


async def test_a_direction_is_checked_against_the_directory_in_force() -> None:
    casework = Casework()
    rid = uuid.uuid4()
    await casework.feed(opened(rid), routed(rid), expired(rid), escalated(rid))
    directory: Envelope[Any] = parse_event(load_sample("DirectoryPublished.v1"))
    assert await casework.deliver(directory, DIRECTORY) == []
    assert await casework.deliver(directory, DIRECTORY) == [], "a version is kept once"
    reason = DirectionReason.CAPACITY_AGREED_WITH_AGENCY

    for agency, code in (
        ("cumbria-recovery-barrow", "agency_inactive"),
        ("nowhere", "unknown_agency"),
    ):
        with pytest.raises(Refused) as refused:
            await casework.act(rid, d.Direct(agency, reason), police())
        assert refusal_code(refused) == code
    response = await casework.act(rid, d.Direct("twc-carlisle", reason), police())

    assert (response.body["events"], response.body["status"]) == (["ReferralDirected"], "opened")
