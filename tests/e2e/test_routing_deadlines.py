"""Acceptance deadlines are durable timers that fire as SlaBreached events: proposals to
casework, whose OfferExpired reroutes the referral (the last one escalates it). A hold
pauses the timer and lifting it runs the time that was left; a crash of routing loses no
deadline.

Casework, which answers a breach with OfferExpired while the offer is still open, does not
run in these tests: they publish the OfferExpired where casework would ("casework decides
the expiry"), so routing's behaviour is proven on its own.
"""

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from referral_schemas.resolution_v1 import OfferExpired
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
from tests.support.kafka import TopicWatch, send, wait_committed, watch
from tests.support.routing_events import About, as_casework
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
Spawn = Callable[..., ServiceProcess]
PLENTY = 100_000


def _routing(spawn: Spawn, log_name: str) -> ServiceProcess:
    return spawn("routing", log_name, ROUTING_TIMER_POLL_INTERVAL_S="0.2")


async def _open_in_barrow(bootstrap: str, events: TopicWatch) -> str:
    message = submitted(address=address_in("LA14", "Barrow-in-Furness"))
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["data"]["referral_id"])


def _about(events: list[Any], referral_id: str) -> list[dict[str, Any]]:
    return [r.json() for r in events if r.key == referral_id.encode()]


async def _expire(bootstrap: str, breach: dict[str, Any]) -> str:
    """Casework decides the expiry: the offer was still open, so it answers the breach with
    OfferExpired. Returns the OfferExpired's id."""
    data = breach["data"]
    expired = OfferExpired(
        referral_id=uuid.UUID(data["referral_id"]),
        agency=data["agency"],
        due_by=datetime.fromisoformat(data["due_by"]),
        expired_at=datetime.now(UTC),
    )
    message = as_casework(expired, breach)
    await send(bootstrap, REFERRAL_EVENTS, breach["subject"], [message])
    return str(json.loads(message)["id"])


async def _until(check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 90) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (found := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.2)
    return found


async def test_expired_offers_reroute_then_escalate_each_exactly_once(
    bootstrap: str, spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    spawn("intake", "routing-sla-intake")
    _routing(spawn, "routing-sla-routing")
    sent = await send_directory(bootstrap, cumbria_directory(version, "PT2S", capacity=PLENTY))
    await wait_committed(bootstrap, "routing", sent)
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open_in_barrow(bootstrap, events)
        for count in (1, 2):
            breaches = await events.wait_for(event_for_referral("SlaBreached", referral_id), count)
            await _expire(bootstrap, breaches[count - 1].json())  # casework decides the expiry
        await events.wait_for(event_for_referral("ReferralEscalated", referral_id))
        about_it = _about(await events.drain(), referral_id)
    types = Counter(e["type"] for e in about_it)
    assert types == Counter(
        ReferralOpened=1,
        ReferralRouted=1,
        SlaBreached=2,
        OfferExpired=2,
        ReferralRerouted=1,
        ReferralEscalated=1,
    )
    routed, rerouted, escalated = (
        next(e for e in about_it if e["type"] == t)
        for t in ("ReferralRouted", "ReferralRerouted", "ReferralEscalated")
    )
    breached = [e["data"]["agency"] for e in about_it if e["type"] == "SlaBreached"]
    first = routed["data"]["agency"]
    assert set(breached) == BARROW_AGENCIES
    assert breached[0] == first
    assert rerouted["data"]["from_agency"] == first
    assert rerouted["data"]["to_agency"] == breached[1]
    assert rerouted["data"]["cause"] == "acceptance_deadline_missed"
    assert escalated["data"]["reason"] == "acceptance_deadline_missed"
    assert escalated["data"]["area"] == "barrow"


async def test_a_deadline_survives_a_routing_crash_and_fires_once(
    bootstrap: str, stack_env: dict[str, str], spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    spawn("intake", "routing-restart-intake")
    first = _routing(spawn, "routing-restart-1")
    sent = await send_directory(bootstrap, cumbria_directory(version, "PT20S", capacity=PLENTY))
    await wait_committed(bootstrap, "routing", sent)
    holder = await asyncpg.connect(stack_env["ROUTING_DATABASE_URL"])
    try:
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            referral_id = await _open_in_barrow(bootstrap, events)
            await events.wait_for(event_for_referral("ReferralRouted", referral_id))
            # Hold the timer row: no timer loop can fire it (SKIP LOCKED) until we let go,
            # so the deadline is certainly still pending when routing dies.
            tx = holder.transaction()
            await tx.start()
            timers = await holder.fetch(
                "SELECT agency FROM timers WHERE referral_id = $1::uuid FOR UPDATE", referral_id
            )
            assert len(timers) == 1
            first.kill()
            _routing(spawn, "routing-restart-2")
            await tx.rollback()
            breach = await events.wait_for(event_for_referral("SlaBreached", referral_id))
            expiry_id = await _expire(bootstrap, breach[0].json())  # casework decides it
            await events.wait_for(event_for_referral("ReferralRerouted", referral_id))
            about_it = _about(await events.drain(), referral_id)
    finally:
        await holder.close()
    breaches = [e for e in about_it if e["type"] == "SlaBreached"]
    assert len(breaches) == 1
    assert breaches[0]["data"]["agency"] == timers[0]["agency"]
    rerouted = [e for e in about_it if e["type"] == "ReferralRerouted"]
    assert len(rerouted) == 1
    assert rerouted[0]["data"]["cause"] == "acceptance_deadline_missed"
    assert rerouted[0]["causationid"] == expiry_id


async def test_a_hold_pauses_the_deadline_and_lifting_it_runs_the_time_left(
    bootstrap: str, stack_env: dict[str, str], spawn: Spawn
) -> None:
    version = await next_directory_version(bootstrap)
    spawn("intake", "routing-hold-intake")
    _routing(spawn, "routing-hold-routing")
    sent = await send_directory(bootstrap, cumbria_directory(version, "PT1H", capacity=PLENTY))
    await wait_committed(bootstrap, "routing", sent)
    db = await asyncpg.connect(stack_env["ROUTING_DATABASE_URL"])

    async def timer(referral_id: str) -> tuple[str, datetime] | None:
        row = await db.fetchrow(
            "SELECT agency, due_by FROM timers WHERE referral_id = $1::uuid", referral_id
        )
        return (row["agency"], row["due_by"]) if row is not None else None

    try:
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            referral_id = await _open_in_barrow(bootstrap, events)
            routed = (await events.wait_for(event_for_referral("ReferralRouted", referral_id)))[0]
            offer = routed.json()
            agency, due_by = (
                offer["data"]["agency"],
                datetime.fromisoformat(offer["data"]["due_by"]),
            )
            assert await _until(lambda: timer(referral_id), "the timer is set") == (agency, due_by)

            about = About(uuid.UUID(referral_id))
            held_at = datetime.now(UTC)
            held = as_casework(about.held(held_at), offer)  # a coordinator's hold
            await send(bootstrap, REFERRAL_EVENTS, referral_id, [held])

            async def cleared() -> bool:
                return await timer(referral_id) is None

            await _until(cleared, "the hold clears the timer")
            resumed_at = held_at + timedelta(minutes=20)
            resumed = as_casework(about.resumed(resumed_at), offer)
            await send(bootstrap, REFERRAL_EVENTS, referral_id, [resumed])
            rearmed = await _until(lambda: timer(referral_id), "lifting the hold sets a timer")
    finally:
        await db.close()
    assert rearmed == (agency, resumed_at + (due_by - held_at))
