"""The referral lifecycle across every service, as separate processes on the real broker
and database: police intelligence in, staff work through casework's API, outcome out."""

import json
import uuid
from typing import Any

import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, POLICE_OUTCOMES, REFERRAL_EVENTS

from tests.e2e.helpers import event_for_referral
from tests.e2e.lifecycle_support import PLENTY, directory_in_force, sees
from tests.e2e.lifecycle_system import System, data_of, open_referral, system
from tests.support.directory import cumbria_directory
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import send, watch

pytestmark = pytest.mark.e2e
__all__ = ["system"]


def _barrow_only_twc() -> list[dict[str, Any]]:
    """Agencies where Barrow is covered by The Well Communities' Barrow team alone."""
    agencies: list[dict[str, Any]] = cumbria_directory(1, capacity=PLENTY)["agencies"]
    for agency in agencies:
        if agency["code"] == "cumbria-recovery-south":
            agency["areas"] = ["kendal"]
    return agencies


async def test_happy_path_from_intelligence_to_outcome_reported_to_police(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap, agencies=_barrow_only_twc())
    message = submitted()
    trace_id = uuid.uuid4().hex  # the police system traces its submission
    message["traceparent"] = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    ref = message["data"]["intelligence_ref"]
    worker = system.staff("twc-barrow")
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, message)
        assert (await data_of(events, "ReferralRouted", rid))["agency"] == "twc-barrow"
        await sees(worker, rid, status="awaiting_acceptance")
        await worker.act(rid, "accept")
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "no_answer"})
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "spoke_to_person"})
        await worker.act(rid, "visits")
        await worker.act(rid, "engagement", {"level": "engaged"})
        await worker.act(rid, "complete", {"outcome": "engaged_with_support"})
        await worker.act(rid, "close")
        outcome = await data_of(outcomes, "OutcomeReported", rid)
        await events.drain(quiet_s=3.0)
        await outcomes.drain(quiet_s=1.0)
    history = [r.json()["type"] for r in events.records if r.key == rid.encode()]
    assert history == [
        "ReferralOpened",
        "ReferralRouted",
        "ReferralAccepted",
        "ReferralAssigned",  # to the worker who accepted it
        "ContactAttempted",
        "ContactAttempted",
        "VisitCompleted",
        "EngagementRecorded",
        "ReferralCompleted",
        "ReferralClosed",
    ]
    assert [r.json()["type"] for r in outcomes.records if r.key == rid.encode()] == [
        "OutcomeReported"
    ]
    assert (outcome["outcome"], outcome["intelligence_refs"], outcome["agency"]) == (
        "engaged_with_support",
        [ref],
        "twc-barrow",
    )
    assert outcome["first_contact_at"] is not None
    told_police = json.dumps(outcome)
    for personal in (
        message["data"]["subject"]["family_name"],
        message["data"]["address"]["line1"],
    ):
        assert personal not in told_police
    assert (await sees(worker, rid))["status"] == "closed"
    # One trace from the police submission through intake, routing, casework and feedback.
    path = [r.json() for r in [*events.records, *outcomes.records] if r.key == rid.encode()]
    parents = [e["traceparent"].split("-") for e in path]
    assert {trace for _, trace, _, _ in parents} == {trace_id}
    assert len({span for _, _, span, _ in parents}) == len(path), "each event its own span"


async def test_a_decline_through_the_api_reroutes_to_the_other_barrow_agency(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap)
    message = submitted()
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, message)
        first = (await data_of(events, "ReferralRouted", rid))["agency"]
        declining = system.staff(first)
        await sees(declining, rid, status="awaiting_acceptance")
        refused = await system.client.post(
            f"/referrals/{rid}/decline", json={}, headers=declining.headers()
        )
        assert refused.status_code == 422, "a decline needs a reason"
        await declining.act(rid, "decline", {"reason": "no_capacity"})
        rerouted = await data_of(events, "ReferralRerouted", rid)
    second = ({"twc-barrow", "cumbria-recovery-south"} - {first}).pop()
    assert (rerouted["from_agency"], rerouted["to_agency"], rerouted["cause"]) == (
        first,
        second,
        "declined",
    )
    await sees(system.staff(second), rid, status="awaiting_acceptance")
    assert (await declining.detail(rid)).status_code == 404, (
        "the declining agency no longer sees it"
    )


async def test_withdrawn_intelligence_cancels_the_referral_the_agency_is_working(
    bootstrap: str, system: System
) -> None:
    await directory_in_force(bootstrap, agencies=_barrow_only_twc())
    message = submitted()
    worker = system.staff("twc-barrow")
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, message)
        await sees(worker, rid, status="awaiting_acceptance")
        await worker.act(rid, "accept")
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "no_answer"})
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))])
        await events.wait_for(event_for_referral("ReferralCancelled", rid))
        shown = await sees(worker, rid, status="cancelled")
        await outcomes.drain(quiet_s=2.0)
    assert shown["cancel_reason"] == "intelligence_withdrawn"
    late = await system.client.post(f"/referrals/{rid}/visits", json={}, headers=worker.headers())
    assert late.status_code == 409
    assert late.json()["error"] == "referral_cancelled"
    told = [r.json()["data"]["outcome"] for r in outcomes.records if r.key == rid.encode()]
    assert told == ["intelligence_withdrawn"], "an agency worked it: police hear how it ended"
