"""Each defect of the lifecycle found against a running stack, reproduced end to end with
every service a separate process: a withdrawn referral resurrected by a late routing, an
accept racing a deadline, an escalation with no way out, a hold that did not stop the clock,
and three meanings of first contact."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from referral_schemas import ReferralRouted
from referral_schemas.topics import POLICE_INTELLIGENCE, POLICE_OUTCOMES, REFERRAL_EVENTS

from tests.e2e.helpers import event_for_referral
from tests.e2e.lifecycle_support import directory_in_force, sees
from tests.e2e.lifecycle_system import (
    System,
    data_of,
    land,
    open_referral,
    opened_id,
    outcome_for,
    system,
    types_of,
)
from tests.support.directory import cumbria_directory
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import send, watch
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
__all__ = ["system"]


async def test_1_a_routing_landing_after_the_cancellation_does_not_bring_it_back(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    message = submitted()
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        await send(
            bootstrap,
            POLICE_INTELLIGENCE,
            key_of(message),
            [encode(message), encode(withdrawn(message, reason="submitted_in_error"))],
        )
        rid = await opened_id(events, message)
        await events.wait_for(event_for_referral("ReferralCancelled", rid))
        late = ReferralRouted(
            referral_id=rid,
            agency="twc-barrow",
            area="barrow",
            due_by=datetime.now(UTC) + timedelta(hours=48),
            routed_at=datetime.now(UTC),
            directory_version=1,
            isa_version="late",
        )
        await land(bootstrap, late, service="routing")
        await events.wait_for(
            lambda r: r.key == rid.encode() and r.json()["data"].get("isa_version") == "late"
        )
        await asyncio.sleep(2)  # let every service fold the late event
        await outcomes.drain(quiet_s=2.0)
    worker = system.staff("twc-barrow")
    police = await sees(system.police(), rid)
    assert police["status"] == "cancelled"
    assert police["cancel_reason"] == "intelligence_withdrawn"
    accept = await worker.post(rid, "accept")
    visit = await worker.post(rid, "visits")
    assert accept.status_code in (404, 409), accept.text
    assert visit.status_code in (404, 409), visit.text
    queue = (await worker.client.get("/referrals?limit=200", headers=worker.headers())).json()
    assert rid not in {item["referral_id"] for item in queue["items"]}
    reported = [r for r in outcomes.records if r.key == rid.encode()]
    if "ReferralRouted" in types_of(events, rid)[:3]:
        assert len(reported) == 1  # routed before the cancellation: police hear it once
    else:
        assert reported == [], "never reached an agency: nothing to report"


async def test_2_an_accept_racing_the_deadline_is_never_contradicted(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap, acceptance="PT3S")
    answers = []
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        for _ in range(6):
            rid = await open_referral(bootstrap, events, submitted())
            routed = await data_of(events, "ReferralRouted", rid)
            due = datetime.fromisoformat(routed["due_by"])
            await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
            worker = system.staff(routed["agency"])
            answers.append((rid, routed["agency"], await worker.post(rid, "accept")))
        await asyncio.sleep(3)
        await events.drain(quiet_s=3.0)
    for rid, agency, answer in answers:
        history = types_of(events, rid)
        worker = system.staff(agency)
        if answer.status_code == 200:
            assert "OfferExpired" not in history[: history.index("ReferralAccepted")]
            assert (await sees(worker, rid))["status"] == "accepted", history
            assert "ReferralRerouted" not in history
        else:
            assert answer.status_code == 409, answer.text
            assert "ReferralAccepted" not in history
            assert "OfferExpired" in history


async def test_7_the_coordinator_resolves_an_escalation_and_coverage_retries_it(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    police = system.police()
    uncovered = [
        submitted(address={**submitted()["data"]["address"], "postcode": "LA22 0AB"})
        for _ in range(3)
    ]
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rids = [await open_referral(bootstrap, events, m) for m in uncovered]
        for rid in rids:
            escalated = await data_of(events, "ReferralEscalated", rid)
            assert escalated["reason"] == "no_agency_covers_area"
            await sees(police, rid, status="escalated")
        directed, closed, retried = rids
        answer = await police.post(
            directed, "direct", {"agency": "twc-barrow", "reason": "capacity_agreed_with_agency"}
        )
        assert answer.status_code == 200, answer.text
        assert (await data_of(events, "ReferralRouted", directed))["agency"] == "twc-barrow"
        await sees(system.staff("twc-barrow"), directed, status="awaiting_acceptance")
        answer = await police.post(
            closed, "close-escalation", {"outcome": "safeguarding_escalated"}
        )
        assert answer.status_code == 200, answer.text
        report = await outcome_for(outcomes, closed)
        assert report["outcome"] == "safeguarding_escalated"
        late = await police.post(
            closed, "direct", {"agency": "twc-barrow", "reason": "only_suitable_agency"}
        )
        assert late.status_code == 409, "a closed escalation stays closed"
        covering = cumbria_directory(0)["areas"]
        covering[1]["postcode_districts"] = [*covering[1]["postcode_districts"], "LA22"]
        await directory_in_force(bootstrap, areas=covering)
        routed = await data_of(events, "ReferralRouted", retried)
        assert routed["area"] == "kendal", "a new directory covering the district retries it"


async def test_8_a_hold_stops_the_acceptance_clock_and_every_worker_action(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap, acceptance="PT10S")
    police = system.police()
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, submitted())
        agency = (await data_of(events, "ReferralRouted", rid))["agency"]
        worker = system.staff(agency)
        await sees(police, rid, status="awaiting_acceptance")
        held = await police.post(rid, "holds", {"reason": "live_police_operation"})
        assert held.status_code == 200, held.text
        await asyncio.sleep(12)  # past the deadline it had when the hold began
        await events.drain(quiet_s=1.0)
        assert not {"OfferExpired", "ReferralRerouted"} & set(types_of(events, rid))
        refused = await worker.post(rid, "accept")
        assert (refused.status_code, refused.json()["error"]) == (409, "referral_held")
        resumed = await police.client.delete(f"/referrals/{rid}/holds", headers=police.headers())
        assert resumed.status_code == 200, resumed.text
        await events.wait_for(event_for_referral("OfferExpired", rid), timeout_s=60)
        rerouted = await data_of(events, "ReferralRerouted", rid)
        assert rerouted["cause"] == "acceptance_deadline_missed"

    await directory_in_force(bootstrap)
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, submitted())
        agency = (await data_of(events, "ReferralRouted", rid))["agency"]
        worker = system.staff(agency)
        await sees(worker, rid, status="awaiting_acceptance")
        assert (await worker.post(rid, "accept")).status_code == 200
        assert (await police.post(rid, "holds", {"reason": "live_police_operation"})).is_success
        for action, body in (
            ("engagement", {"level": "engaged"}),
            ("contact-attempts", {"method": "phone", "result": "spoke_to_person"}),
            ("visits", {}),
            ("complete", {"outcome": "signposted"}),
        ):
            refused = await worker.post(rid, action, body)
            assert (refused.status_code, refused.json()["error"]) == (409, "referral_held"), action


async def test_9_first_contact_is_the_same_for_the_console_and_the_police(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, submitted())
        agency = (await data_of(events, "ReferralRouted", rid))["agency"]
        worker = system.staff(agency)
        await sees(worker, rid, status="awaiting_acceptance")
        await worker.post(rid, "accept")
        await worker.post(rid, "contact-attempts", {"method": "phone", "result": "no_answer"})
        shown = await sees(worker, rid)
        assert shown["first_contact_at"] is None, "an unanswered call is not contact"
        spoke = await worker.post(
            rid, "contact-attempts", {"method": "phone", "result": "spoke_to_person"}
        )
        assert spoke.status_code == 200
        await eventually(
            lambda: _first_contact(system, agency, rid), "casework records first contact"
        )
        console_time = await _first_contact(system, agency, rid)
        await worker.post(rid, "complete", {"outcome": "engaged_with_support"})
        await worker.post(rid, "close")
        report = await outcome_for(outcomes, rid)
    assert report["first_contact_at"] is not None
    told = datetime.fromisoformat(str(report["first_contact_at"]))
    assert told == datetime.fromisoformat(str(console_time))


async def _first_contact(system: System, agency: str, rid: str) -> object:
    shown = await system.staff(agency).detail(rid)
    return shown.json().get("first_contact_at")
