"""Escalated referrals through routing's handlers, on the in-memory store: routing retries
those escalated for lack of capacity when a place frees up (in the order they were
escalated) and those a directory did not cover when a new version arrives; a police
coordinator's direction offers a referral to the named agency over its capacity."""

import pytest
from referral_schemas import ReferralOpened

from tests.support.directory import cumbria_directory
from tests.support.opened import opened_in as opened
from tests.support.routing_events import About
from tests.unit.routing_desk import RoutingDesk, directory, what

pytestmark = pytest.mark.unit
CARLISLE = "twc-carlisle"


def _id(referral: ReferralOpened) -> str:
    return str(referral.referral_id)


def _status(desk: RoutingDesk, referral: ReferralOpened) -> tuple[str, str | None]:
    """The referral's status and agency as routing counts it (its pending decisions in)."""
    current = desk.store.states[referral.referral_id].effective
    return current.status.value, current.agency


async def test_a_freed_place_goes_to_the_referral_escalated_first() -> None:
    routing = RoutingDesk()
    await routing.handle(directory(1, capacity=1))
    first, second, third = opened("CA1"), opened("CA2"), opened("CA3")
    await routing.land(await routing.handle(first, second, third))
    assert [_status(routing, r) for r in (first, second, third)] == [
        ("awaiting_acceptance", CARLISLE),
        ("escalated", None),
        ("escalated", None),
    ]

    # The only Carlisle agency declines the first: nobody is left to try (escalated to the
    # coordinator), and its place goes to the second.
    published = await routing.handle(About(first.referral_id).declined(CARLISLE))
    assert what(published) == [
        ("ReferralEscalated", _id(first), "all_agencies_declined"),
        ("ReferralRouted", _id(second), CARLISLE),
    ]
    await routing.land(published)

    published = await routing.handle(About(second.referral_id).cancelled())
    assert what(published) == [("ReferralRouted", _id(third), CARLISLE)]
    await routing.land(published)
    assert _status(routing, first) == ("escalated", None), "left to the police"
    assert await routing.store.open_counts() == {CARLISLE: 1}


async def test_a_new_directory_version_routes_what_the_last_could_not() -> None:
    routing = RoutingDesk()
    without_carlisle = [a for a in cumbria_directory(1)["agencies"] if a["code"] != CARLISLE]
    await routing.handle(directory(1, agencies=without_carlisle))
    uncovered = opened("CA1")
    assert what(await routing.handle(uncovered)) == [
        ("ReferralEscalated", _id(uncovered), "no_agency_covers_area")
    ]
    assert what(await routing.handle(directory(2))) == [
        ("ReferralRouted", _id(uncovered), CARLISLE)
    ]


async def test_a_direction_offers_the_referral_to_that_agency_over_its_capacity() -> None:
    routing = RoutingDesk()
    await routing.handle(directory(1, capacity=1))
    taken, escalated, elsewhere = opened("CA1"), opened("CA1"), opened("CA1")
    await routing.land(await routing.handle(taken, escalated, elsewhere))

    published = await routing.handle(About(escalated.referral_id).directed(CARLISLE))
    assert what(published) == [("ReferralRouted", _id(escalated), CARLISLE)]
    await routing.land(published)
    assert await routing.store.open_counts() == {CARLISLE: 2}, "counted, over capacity"

    published = await routing.handle(About(elsewhere.referral_id).directed("no-such-agency"))
    assert what(published) == [("ReferralEscalated", _id(elsewhere), "no_agency_covers_area")]
