"""routing parses the directory once per version, yet every referral is routed by the
version in force as its own transaction sees it: also after a transaction that brought a
new version rolled back, and when another routing instance took in the new version."""

from typing import Any

import asyncpg
import pytest
from referral_schemas.directory_v1 import DirectoryPublished

from tests.integration.routing_harness import RoutingInstance, directory, routing_pool
from tests.support.directory import cumbria_directory
from tests.support.opened import opened_in as opened

pytestmark = pytest.mark.integration
__all__ = ["routing_pool"]


def without_carlisle_team(version: int) -> DirectoryPublished:
    """A directory in which nobody covers Carlisle: its referrals are escalated."""
    agencies = [
        {**a, "active": a["code"] != "twc-carlisle"} for a in cumbria_directory(version)["agencies"]
    ]
    return directory(version, agencies=agencies)


def outcome(published: list[dict[str, Any]]) -> tuple[str, str | None]:
    (event,) = published
    return event["type"], event["data"].get("agency") or event["data"].get("reason")


async def test_a_rolled_back_directory_version_is_never_used(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    routing = RoutingInstance(routing_pool)
    await routing.handle(directory(1))
    assert outcome(await routing.handle(opened("CA1"))) == ("ReferralRouted", "twc-carlisle")

    published = await routing.handle_then_roll_back(without_carlisle_team(2), opened("CA1"))
    assert outcome(published) == ("ReferralEscalated", "no_agency_covers_area")

    assert outcome(await routing.handle(opened("CA1"))) == ("ReferralRouted", "twc-carlisle")
    await routing.handle(without_carlisle_team(2))
    assert outcome(await routing.handle(opened("CA1"))) == (
        "ReferralEscalated",
        "no_agency_covers_area",
    )


async def test_a_version_another_instance_took_in_is_used_at_once(
    routing_pool: "asyncpg.Pool[Any]",
) -> None:
    first, second = RoutingInstance(routing_pool), RoutingInstance(routing_pool)
    await first.handle(directory(1))
    for instance in (first, second):
        assert outcome(await instance.handle(opened("CA1"))) == ("ReferralRouted", "twc-carlisle")
    await second.handle(without_carlisle_team(2))
    for instance in (first, second):
        assert outcome(await instance.handle(opened("CA1"))) == (
            "ReferralEscalated",
            "no_agency_covers_area",
        )
