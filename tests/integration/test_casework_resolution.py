"""The police coordinator resolves what no agency has accepted (direct to an agency, close
with an outcome, cancel), sees their force's escalations, and the detail shows what the
agency needs: an amendment, the previous referral, a paused deadline."""

import uuid
from typing import Any

import pytest
from referral_schemas import load_sample, parse_event, serialize_event
from referral_schemas.envelope import Envelope
from referral_schemas.topics import DIRECTORY

from services.casework.handlers import on_directory
from services.runtime.consumer import MessageProcessor, Outcome, RetryPolicy
from services.runtime.dead_letter import ReceivedRecord
from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import amended, escalated, expired, opened, routed

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]

RESOLUTIONS: dict[str, tuple[dict[str, Any], str, str]] = {
    "direct": (
        {"agency": "twc-carlisle", "reason": "capacity_agreed_with_agency"},
        "ReferralDirected",
        "opened",
    ),
    "close-escalation": ({"outcome": "safeguarding_escalated"}, "EscalationClosed", "closed"),
    "cancel": ({"reason": "no_longer_required"}, "ReferralCancelled", "cancelled"),
}


def coordinator(force: str = "cumbria") -> dict[str, Any]:
    return {"role": "police_coordinator", "user": "spoc-1", "agency": None, "force": force}


async def escalated_referral(casework: Casework, force: str = "cumbria") -> uuid.UUID:
    rid = uuid.uuid4()
    await casework.feed(opened(rid, force=force), routed(rid), expired(rid), escalated(rid))
    return rid


@pytest.mark.parametrize("action", list(RESOLUTIONS))
async def test_a_coordinator_resolves_an_escalation(casework: Casework, action: str) -> None:
    rid = await escalated_referral(casework)
    body, event_type, status = RESOLUTIONS[action]
    response = await casework.act(rid, action, body, **coordinator())
    assert response.status_code == 200, response.text
    assert (response.json()["events"], response.json()["status"]) == ([event_type], status)
    [event] = await casework.outbox(rid)
    assert (event["type"], event["actor"], event["agency"]) == (event_type, "user:spoc-1", None)
    for name, value in body.items():
        assert event["data"][name] == value
    await casework.echo(rid)
    assert (await casework.stored_state(rid))["lifecycle"]["status"] == status


@pytest.mark.parametrize("action", list(RESOLUTIONS))
async def test_resolution_is_refused_once_an_agency_accepted(
    casework: Casework, action: str
) -> None:
    rid = await casework.accepted_referral()
    snapshot = await casework.snapshot(rid)
    body = RESOLUTIONS[action][0]
    response = await casework.act(rid, action, body, **coordinator())
    assert (response.status_code, response.json()["error"]) == (409, "already_accepted")
    assert await casework.snapshot(rid) == snapshot


@pytest.mark.parametrize("action", list(RESOLUTIONS))
async def test_another_forces_coordinator_is_told_it_does_not_exist(
    casework: Casework, action: str
) -> None:
    rid = await escalated_referral(casework)
    snapshot = await casework.snapshot(rid)
    body = RESOLUTIONS[action][0]
    response = await casework.act(rid, action, body, **coordinator("lancashire"))
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    assert await casework.snapshot(rid) == snapshot


async def test_the_same_key_resolves_once(casework: Casework) -> None:
    rid = await escalated_referral(casework)
    body = RESOLUTIONS["close-escalation"][0]
    first = await casework.act(rid, "close-escalation", body, key="close-1", **coordinator())
    again = await casework.act(rid, "close-escalation", body, key="close-1", **coordinator())
    assert first.json() == again.json()
    assert [m["type"] for m in await casework.outbox(rid)] == ["EscalationClosed"]


async def _directory(casework: Casework) -> list[str]:
    """The golden sample directory through casework's consumer of hub.directory."""
    envelope: Envelope[Any] = parse_event(load_sample("DirectoryPublished.v1"))
    processor = MessageProcessor(
        casework.pool,
        "casework/hub.directory",
        on_directory,
        casework.clock,
        RetryPolicy(1),
        trust=None,
    )
    record = ReceivedRecord(DIRECTORY, 0, 1, b"directory", serialize_event(envelope), ())
    assert await processor.process(record) in (Outcome.HANDLED, Outcome.DUPLICATE)
    return [a.code for a in envelope.data.agencies]


async def test_a_direction_must_name_an_active_agency_of_the_directory(casework: Casework) -> None:
    codes = await _directory(casework)
    listed = await casework.client.get("/agencies", headers=casework.headers(**coordinator()))
    assert [a["code"] for a in listed.json()["agencies"]] == codes
    rid = await escalated_referral(casework)
    for agency, code in [
        ("nobody-here", "unknown_agency"),
        ("cumbria-recovery-barrow", "agency_inactive"),
    ]:
        body = {"agency": agency, "reason": "only_suitable_agency"}
        refused = await casework.act(rid, "direct", body, **coordinator())
        assert (refused.status_code, refused.json()["error"]) == (422, code)
    assert await casework.outbox(rid) == []


async def test_coordinators_see_their_forces_escalations(casework: Casework) -> None:
    force = f"f{uuid.uuid4().hex[:10]}"
    rid = await escalated_referral(casework, force)
    await casework.routed_referral()  # another force's, awaiting acceptance
    headers = casework.headers(**coordinator(force))
    page = (
        await casework.client.get("/referrals", params={"status": "escalated"}, headers=headers)
    ).json()
    assert [(i["referral_id"], i["escalation_reason"]) for i in page["items"]] == [
        (str(rid), "all_agencies_declined")
    ]
    assert (await casework.client.get(f"/referrals/{rid}", headers=headers)).status_code == 200


async def test_the_detail_shows_an_amendment_and_the_previous_referral(casework: Casework) -> None:
    rid, earlier = uuid.uuid4(), uuid.uuid4()
    await casework.feed(opened(rid, previous=earlier), routed(rid), amended(rid))
    body = (await casework.client.get(f"/referrals/{rid}", headers=casework.headers())).json()
    assert body["previous_referral_id"] == str(earlier)
    assert (body["subject"]["family_name"], body["address"]["postcode"]) == (
        "Otherperson",
        "LA9 4ZZ",
    )
    assert (body["risk_level"], body["reason_categories"], body["visitor_safety"]) == (
        "medium",
        ["debt_bondage"],
        ["aggressive_dogs"],
    )
    assert body["amended_at"] is not None
    entry = body["timeline"][-1]
    assert (entry["type"], entry["summary"]["withdrawal_reason"]) == (
        "ReferralAmended",
        "discredited",
    )
    assert "Otherperson" not in str(entry), "the timeline holds codes, not personal data"
