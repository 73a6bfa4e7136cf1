"""routing's handlers and timer loop on the in-memory store: what routing publishes as a
referral's log reaches it, in milliseconds and without a database (the store contract suite
keeps the fake honest: tests/integration/test_routing_store_contract.py)."""

from datetime import timedelta

import pytest
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.referral_v1 import ReferralOpened

from tests.support.opened import opened_in
from tests.support.routing_events import About
from tests.unit.routing_desk import NOW, RoutingDesk, directory, envelope, what

pytestmark = pytest.mark.unit
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"
DUE = NOW + timedelta(hours=48)
"""Every agency's acceptance deadline in the Cumbria directory, for an offer made NOW."""


def _id(referral: ReferralOpened) -> str:
    return str(referral.referral_id)


async def test_a_cancelled_referral_is_never_routed_afterwards() -> None:
    desk = RoutingDesk()
    early = opened_in("CA1")
    assert await desk.handle(early) == [], "no directory yet: it waits"
    await desk.handle(About(early.referral_id).cancelled())
    assert await desk.handle(directory(1)) == [], "the first directory does not route it"

    late = opened_in("CA1")
    offer = await desk.handle(late)
    assert what(offer) == [("ReferralRouted", _id(late), TWC_CARLISLE)]
    await desk.handle(About(late.referral_id).cancelled())  # lands before routing's offer
    assert await desk.land(offer) == []
    assert await desk.store.open_counts() == {}, "its place is free again"
    assert await desk.fire_timers(DUE + timedelta(days=30)) == [], "no deadline runs for it"
    assert await desk.handle(directory(2)) == [], "nor does a later directory route either"


async def test_capacity_is_counted_from_the_moment_a_referral_is_offered() -> None:
    desk = RoutingDesk()
    await desk.handle(directory(1, capacity=1))
    first, second = opened_in("CA1"), opened_in("CA1")
    offer = await desk.handle(first)
    escalation = await desk.handle(second)  # before the first's offer is on the log
    assert what(escalation) == [("ReferralEscalated", _id(second), "no_agency_with_capacity")]
    assert await desk.store.open_counts() == {TWC_CARLISLE: 1}
    await desk.land(offer + escalation)

    # The only Carlisle agency declines the first: nobody is left to try (it goes to the
    # police coordinator), and its place goes to the one waiting for it.
    published = await desk.handle(About(first.referral_id).declined(TWC_CARLISLE))
    assert what(published) == [
        ("ReferralEscalated", _id(first), "all_agencies_declined"),
        ("ReferralRouted", _id(second), TWC_CARLISLE),
    ]
    assert await desk.store.open_counts() == {TWC_CARLISLE: 1}


async def test_a_missed_deadline_reroutes_only_a_referral_still_awaiting_acceptance() -> None:
    desk = RoutingDesk()
    await desk.handle(directory(1))
    waiting, accepted = opened_in("LA14"), opened_in("LA14")
    offers = await desk.handle(waiting, accepted)
    assert what(offers) == [
        ("ReferralRouted", _id(waiting), SOUTH),
        ("ReferralRouted", _id(accepted), TWC_BARROW),
    ]
    await desk.land(offers)
    await desk.handle(About(accepted.referral_id).accepted(TWC_BARROW))

    assert await desk.fire_timers(DUE - timedelta(seconds=1)) == []
    breaches = await desk.fire_timers(DUE)
    assert [(b.type, b.subject) for b in breaches] == [("SlaBreached", _id(waiting))]
    assert await desk.land(breaches) == [], "a breach alone moves nothing"
    assert await desk.fire_timers(DUE + timedelta(days=1)) == [], "once per deadline"

    desk.clock.at = DUE + timedelta(minutes=1)
    rerouted = await desk.handle(About(waiting.referral_id).expired(SOUTH, DUE))  # casework's
    assert what(rerouted) == [("ReferralRerouted", _id(waiting), TWC_BARROW)]
    assert rerouted[0].data.cause == "acceptance_deadline_missed"

    # An expiry racing the acceptance is refused: the accepted referral stays where it is.
    assert await desk.handle(About(accepted.referral_id).expired(TWC_BARROW, DUE)) == []
    kept = desk.store.states[accepted.referral_id].effective
    assert (kept.status, kept.agency) == (ReferralStatus.ACCEPTED, TWC_BARROW)


async def test_a_redelivered_event_changes_nothing_the_second_time() -> None:
    desk = RoutingDesk()
    published = envelope(directory(1))
    referral = opened_in("LA9")
    opened = envelope(referral)
    await desk.deliver(published)
    offer = await desk.deliver(opened)
    assert what(offer) == [("ReferralRouted", _id(referral), SOUTH)]

    async def seen() -> tuple[object, ...]:
        store = desk.store
        return dict(store.states), dict(store.timers), await store.open_counts()

    before = await seen()
    assert await desk.deliver(opened) == []
    assert await desk.deliver(published) == []
    assert await seen() == before

    await desk.land(offer)
    landed = await seen()
    assert await desk.land(offer) == []
    assert await seen() == landed

    declined = envelope(About(referral.referral_id).declined(SOUTH))
    assert what(await desk.deliver(declined)) == [
        ("ReferralEscalated", _id(referral), "all_agencies_declined")  # Kendal has one agency
    ]
    after = await seen()
    assert await desk.deliver(declined) == []
    assert await seen() == after


async def test_handling_again_after_a_rollback_publishes_the_same_event_ids() -> None:
    published, opened = envelope(directory(1)), envelope(opened_in("CA1"))
    first, again = RoutingDesk(), RoutingDesk()  # the second as the first rolled back
    await first.deliver(published)
    await again.deliver(published)
    offer, offer_again = await first.deliver(opened), await again.deliver(opened)
    assert [e.id for e in offer] == [e.id for e in offer_again]
    await first.land(offer)
    await again.land(offer_again)
    breach, breach_again = await first.fire_timers(DUE), await again.fire_timers(DUE)
    assert [e.id for e in breach] == [e.id for e in breach_again]
    assert len(breach) == 1
