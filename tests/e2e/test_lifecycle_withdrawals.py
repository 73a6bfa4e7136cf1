"""Intelligence arriving and leaving around a referral's life, end to end with every service
a separate process: new intelligence after a closure, withdrawals after a closure, before the
submission, of one of two linked pieces, and the reasons police get back."""

import asyncio
import json
from typing import Any

import pytest
from referral_schemas.topics import (
    DEAD_LETTER,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from tests.e2e.helpers import event_about, event_for_referral
from tests.e2e.lifecycle_races_support import Person
from tests.e2e.lifecycle_support import directory_in_force, sees
from tests.e2e.lifecycle_system import (
    System,
    data_of,
    open_referral,
    outcome_for,
    system,
    types_of,
)
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import TopicWatch, send, watch
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
__all__ = ["system"]


async def _worked_to(worker: Person, rid: str, *, close: bool) -> None:
    await sees(worker, rid, status="awaiting_acceptance")
    for action, body in (
        ("accept", {}),
        ("contact-attempts", {"method": "phone", "result": "spoke_to_person"}),
        ("visits", {}),
        *((("complete", {"outcome": "engaged_with_support"}), ("close", {})) if close else ()),
    ):
        answer = await worker.post(rid, action, body)
        assert answer.status_code == 200, f"{action}: {answer.text}"


async def _with_agency(system: System, events: TopicWatch, rid: str) -> Person:
    return system.staff((await data_of(events, "ReferralRouted", rid))["agency"])


async def test_3_new_intelligence_after_closure_opens_a_new_referral_naming_the_old(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    first = submitted()
    again = submitted(subject=first["data"]["subject"], address=first["data"]["address"])
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, first)
        await _worked_to(await _with_agency(system, events, rid), rid, close=True)
        await events.wait_for(event_for_referral("ReferralClosed", rid))
        await asyncio.sleep(1)  # intake learns of the closure from the log
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(again), [encode(again)])
        reopened = await events.wait_for(
            event_about("ReferralOpened", again["data"]["intelligence_ref"])
        )
        new_rid = reopened[0].json()["subject"]
        await events.wait_for(event_for_referral("ReferralRouted", new_rid))
    assert new_rid != rid
    assert reopened[0].json()["data"]["previous_referral_id"] == rid
    assert "ReferralLinked" not in types_of(events, rid)


async def test_4_a_withdrawal_after_closure_leaves_it_closed(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    message = submitted()
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, message)
        worker = await _with_agency(system, events, rid)
        await _worked_to(worker, rid, close=True)
        await events.wait_for(event_for_referral("ReferralClosed", rid))
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))])
        await asyncio.sleep(3)
        await events.drain(quiet_s=2.0)
        await outcomes.drain(quiet_s=2.0)
    assert (await sees(worker, rid))["status"] == "closed"
    assert "ReferralCancelled" not in types_of(events, rid)
    told = [r.json()["data"]["outcome"] for r in outcomes.records if r.key == rid.encode()]
    assert told == ["engaged_with_support"]


async def test_5_a_withdrawal_that_overtakes_its_submission_is_remembered(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, DEAD_LETTER) as dead,
    ):
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))])
        await asyncio.sleep(1)
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
        refused = await dead.wait_for(lambda r: ref.encode() in r.value)
        await events.drain(quiet_s=2.0)
    assert refused[-1].headers["dlq.reason"] == b"withdrawn_before_submission"
    assert not [r for r in events.records if event_about("ReferralOpened", ref)(r)]


async def test_6_withdrawing_one_of_two_linked_pieces_amends_the_referral(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    opener = submitted()
    linked: dict[str, Any] = submitted(address=opener["data"]["address"])
    linked["data"]["visitor_safety"] = ["weapons_at_address"]
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, opener)
        worker = await _with_agency(system, events, rid)
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(linked), [encode(linked)])
        await events.wait_for(event_for_referral("ReferralLinked", rid))
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(opener), [encode(withdrawn(opener))])
        amended = await data_of(events, "ReferralAmended", rid)
    assert linked["data"]["subject"]["family_name"] not in json.dumps(amended), "sealed"
    assert "weapons_at_address" in amended["visitor_safety"]
    family = linked["data"]["subject"]["family_name"]

    async def amended_shown() -> dict[str, Any] | None:
        shown: dict[str, Any] = await sees(worker, rid)
        return shown if shown["subject"]["family_name"] == family else None

    shown = await eventually(amended_shown, "casework shows the person who remains")
    assert shown["status"] == "awaiting_acceptance", "one piece remains: still a referral"
    assert "ReferralAmended" in [entry["type"] for entry in shown["timeline"]]


@pytest.mark.parametrize(
    ("reason", "told"),
    [("subject_moved_away", "moved_out_of_area"), ("discredited", "intelligence_withdrawn")],
)
async def test_10_a_worked_referral_withdrawn_tells_police_why_exactly_once(
    bootstrap: str, system: System, reason: str, told: str
) -> None:
    await directory_in_force(bootstrap)
    message = submitted()
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, message)
        worker = await _with_agency(system, events, rid)
        await _worked_to(worker, rid, close=False)
        gone = withdrawn(message, reason=reason)
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(gone)])
        cancelled = await data_of(events, "ReferralCancelled", rid)
        report = await outcome_for(outcomes, rid)
        await outcomes.drain(quiet_s=3.0)
    expected_reason = "moved_away" if reason == "subject_moved_away" else "intelligence_withdrawn"
    assert cancelled["reason"] == expected_reason
    assert report["outcome"] == told
    assert report["first_contact_at"] is not None
    assert len([r for r in outcomes.records if r.key == rid.encode()]) == 1
    assert (await sees(worker, rid))["status"] == "cancelled"
