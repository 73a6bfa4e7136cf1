"""Intelligence becomes a referral (intake) that routing sends to an agency of its area,
escalates when nobody covers the area, and reroutes on a decline: separate processes on the
real broker and database, with the directory published as events."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referral_schemas import make_envelope, serialize_event
from referral_schemas.lifecycle_v1 import DeclineReason, ReferralDeclined
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import event_about, event_for_referral
from tests.support.directory import (
    BARROW_AGENCIES,
    address_in,
    cumbria_directory,
    next_directory_version,
    send_directory,
)
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import Record, TopicWatch, send, wait_committed, watch
from tests.support.routing_events import About, as_casework
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
Spawn = Callable[..., ServiceProcess]
PLENTY = 100_000  # capacity: referrals of every earlier run still count against agencies


async def _directory_in_force(bootstrap: str, data: dict[str, Any]) -> None:
    """Publish a directory version and wait until routing has taken it in."""
    await wait_committed(bootstrap, "routing", await send_directory(bootstrap, data))


def _start(spawn: Spawn, test: str) -> None:
    spawn("intake", f"routing-{test}-intake")
    spawn("routing", f"routing-{test}-routing", ROUTING_TIMER_POLL_INTERVAL_S="0.2")


async def _open_in(bootstrap: str, events: TopicWatch, district: str, town: str) -> str:
    """Send intelligence about an address in ``district``; returns the referral id."""
    message = submitted(address=address_in(district, town))
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["data"]["referral_id"])


async def _one(events: TopicWatch, event_type: str, referral_id: str) -> dict[str, Any]:
    found: Record = (await events.wait_for(event_for_referral(event_type, referral_id)))[0]
    assert found.key == referral_id.encode()
    body: dict[str, Any] = found.json()
    assert (body["source"], body["actor"]) == ("referral-hub/routing", "system:routing")
    return body


async def test_barrow_intelligence_is_routed_to_a_barrow_agency_with_a_deadline(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    _start(spawn, "barrow")
    await _directory_in_force(bootstrap, cumbria_directory(version, capacity=PLENTY))
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open_in(bootstrap, events, "LA14", "Barrow-in-Furness")
        routed = await _one(events, "ReferralRouted", referral_id)
    data = routed["data"]
    assert data["agency"] in BARROW_AGENCIES
    assert data["area"] == "barrow"
    assert data["directory_version"] == version
    assert data["isa_version"] == "cumbria-1clic-isa-v1"
    deadline = datetime.fromisoformat(data["due_by"]) - datetime.fromisoformat(data["routed_at"])
    assert deadline == timedelta(hours=48)


async def test_a_district_no_area_covers_is_escalated_to_the_police(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    _start(spawn, "uncovered")
    await _directory_in_force(bootstrap, cumbria_directory(version, capacity=PLENTY))
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        # LA22 (Ambleside) is in no area of the directory.
        referral_id = await _open_in(bootstrap, events, "LA22", "Ambleside")
        escalated = await _one(events, "ReferralEscalated", referral_id)
        assert not [
            r for r in events.records if event_for_referral("ReferralRouted", referral_id)(r)
        ]
    assert escalated["data"]["reason"] == "no_agency_covers_area"
    assert escalated["data"]["area"] is None


def _declined_by(routed: dict[str, Any]) -> bytes:
    """What casework would publish when the agency declines the referral."""
    agency = routed["data"]["agency"]
    declined = ReferralDeclined(
        referral_id=routed["data"]["referral_id"],
        agency=agency,
        reason=DeclineReason.NO_CAPACITY,
        declined_at=datetime.now(UTC),
        by="worker-e2e",
    )
    envelope = make_envelope(
        declined,
        id=uuid.uuid4(),
        source="referral-hub/casework",
        time=declined.declined_at,
        subject=routed["subject"],
        correlation_id=uuid.UUID(routed["correlationid"]),
        causation_id=uuid.UUID(routed["id"]),
        actor="user:worker-e2e",
        agency=agency,
    )
    return serialize_event(envelope)


async def test_a_decline_reroutes_to_the_other_barrow_agency(bootstrap: str, spawn: Spawn) -> None:
    version = await next_directory_version(bootstrap)
    _start(spawn, "decline")
    await _directory_in_force(bootstrap, cumbria_directory(version, capacity=PLENTY))
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open_in(bootstrap, events, "LA13", "Dalton-in-Furness")
        routed = await _one(events, "ReferralRouted", referral_id)
        await send(bootstrap, REFERRAL_EVENTS, referral_id, [_declined_by(routed)])
        rerouted = await _one(events, "ReferralRerouted", referral_id)
    data = rerouted["data"]
    first = routed["data"]["agency"]
    assert (data["from_agency"], data["cause"]) == (first, "declined")
    assert data["to_agency"] == next(iter(BARROW_AGENCIES - {first}))
    assert rerouted["correlationid"] == routed["correlationid"]


async def test_a_new_directory_version_brings_carlisle_in_without_a_restart(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    full = cumbria_directory(version, capacity=PLENTY)
    without_carlisle = [a for a in full["agencies"] if a["code"] != "twc-carlisle"]
    _start(spawn, "carlisle")
    await _directory_in_force(bootstrap, {**full, "agencies": without_carlisle})
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        before = await _open_in(bootstrap, events, "CA1", "Carlisle")
        escalated = await _one(events, "ReferralEscalated", before)
        await _directory_in_force(bootstrap, cumbria_directory(version + 1, capacity=PLENTY))
        retried = await _one(events, "ReferralRouted", before)
        after = await _open_in(bootstrap, events, "CA3", "Carlisle")
        routed = await _one(events, "ReferralRouted", after)
    assert (escalated["data"]["reason"], escalated["data"]["area"]) == (
        "no_agency_covers_area",
        "carlisle",
    )
    # The referral escalated for want of a Carlisle agency is offered to the new one.
    for offer in (retried, routed):
        assert (offer["data"]["agency"], offer["data"]["area"]) == ("twc-carlisle", "carlisle")
        assert offer["data"]["directory_version"] == version + 1


async def test_a_coordinators_direction_offers_an_escalated_referral_to_that_agency(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    _start(spawn, "directed")
    await _directory_in_force(bootstrap, cumbria_directory(version, capacity=PLENTY))
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open_in(bootstrap, events, "LA22", "Ambleside")  # no area's
        escalated = await _one(events, "ReferralEscalated", referral_id)
        about = About(uuid.UUID(referral_id))
        # What casework publishes when the police coordinator directs the referral.
        await send(
            bootstrap,
            REFERRAL_EVENTS,
            referral_id,
            [as_casework(about.directed("cumbria-recovery-south"), escalated)],
        )
        routed = await _one(events, "ReferralRouted", referral_id)
    data = routed["data"]
    assert (data["agency"], data["directory_version"]) == ("cumbria-recovery-south", version)
    assert data["area"] == "barrow", "an uncovered district is worked from the agency's area"
    deadline = datetime.fromisoformat(data["due_by"]) - datetime.fromisoformat(data["routed_at"])
    assert deadline == timedelta(hours=48)


async def test_an_older_directory_version_arriving_again_changes_nothing(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    _start(spawn, "old-version")
    await _directory_in_force(bootstrap, cumbria_directory(version + 1, "PT24H", capacity=PLENTY))
    await _directory_in_force(bootstrap, cumbria_directory(version, "PT1H", capacity=PLENTY))
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open_in(bootstrap, events, "LA9", "Kendal")
        routed = await _one(events, "ReferralRouted", referral_id)
    data = routed["data"]
    assert (data["agency"], data["directory_version"]) == ("cumbria-recovery-south", version + 1)
    deadline = datetime.fromisoformat(data["due_by"]) - datetime.fromisoformat(data["routed_at"])
    assert deadline == timedelta(hours=24)
