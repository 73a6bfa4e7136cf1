"""The referral lifecycle across every service, as separate processes on the real broker
and database: police intelligence in, staff work through casework's API, outcome out."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, POLICE_OUTCOMES, REFERRAL_EVENTS

from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_about, event_for_referral
from tests.e2e.lifecycle_support import PLENTY, Staff, directory_in_force, sees, start_system
from tests.support.directory import cumbria_directory
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import TopicWatch, send, watch

pytestmark = pytest.mark.e2e


@dataclass
class System:
    client: httpx.AsyncClient
    private_key: str

    def staff(self, agency: str, user: str = "worker-1", role: str = "support_worker") -> Staff:
        return Staff(self.client, self.private_key, user, role, agency=agency)


@pytest.fixture
async def system(
    spawn: Spawn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = start_system(spawn, request.node.name[:40], public_path)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield System(client, private_path.read_text())


def _barrow_only_twc() -> list[dict[str, Any]]:
    """Agencies where Barrow is covered by The Well Communities' Barrow team alone."""
    agencies: list[dict[str, Any]] = cumbria_directory(1, capacity=PLENTY)["agencies"]
    for agency in agencies:
        if agency["code"] == "cumbria-recovery-south":
            agency["areas"] = ["kendal"]
    return agencies


async def _open(bootstrap: str, events: TopicWatch, message: dict[str, Any]) -> str:
    """Send the intelligence; returns the id of the referral it opened."""
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["data"]["referral_id"])


async def _data(events: TopicWatch, event_type: str, rid: str) -> dict[str, Any]:
    found = (await events.wait_for(event_for_referral(event_type, rid)))[0]
    data: dict[str, Any] = found.json()["data"]
    return data


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
        rid = await _open(bootstrap, events, message)
        assert (await _data(events, "ReferralRouted", rid))["agency"] == "twc-barrow"
        await sees(worker, rid, status="awaiting_acceptance")
        await worker.act(rid, "accept")
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "no_answer"})
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "spoke_to_person"})
        await worker.act(rid, "visits")
        await worker.act(rid, "engagement", {"level": "engaged"})
        await worker.act(rid, "complete", {"outcome": "engaged_with_support"})
        await worker.act(rid, "close")
        outcome = await _data(outcomes, "OutcomeReported", rid)
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
        rid = await _open(bootstrap, events, message)
        first = (await _data(events, "ReferralRouted", rid))["agency"]
        declining = system.staff(first)
        await sees(declining, rid, status="awaiting_acceptance")
        refused = await system.client.post(
            f"/referrals/{rid}/decline", json={}, headers=declining.headers()
        )
        assert refused.status_code == 422, "a decline needs a reason"
        await declining.act(rid, "decline", {"reason": "no_capacity"})
        rerouted = await _data(events, "ReferralRerouted", rid)
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
        rid = await _open(bootstrap, events, message)
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
    assert not [r for r in outcomes.records if r.key == rid.encode()], (
        "police withdrew it themselves: no outcome is reported back"
    )
