"""casework as the owner of competing decisions, on the real database: routing's deadline
breach and a staff acceptance are decided one at a time with the referral's row locked, so
the API's answer is never contradicted by the log; intake's cancellation requests become
cancellations unless the referral has ended; terminal states stay terminal."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from referral_schemas import CancellationReason, serialize_event

from services.runtime.consumer import Outcome
from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import (
    AGENCY,
    NOW,
    breached,
    cancellation_requested,
    held,
    opened,
    routed,
)

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]
POLICE: dict[str, Any] = {"user": "spoc-1", "agency": None, "force": "cumbria"}


async def types_out(casework: Casework, rid: uuid.UUID) -> list[str]:
    return [m["type"] for m in await casework.outbox(rid) if m["topic"] == "referral.events"]


async def test_an_accept_committed_first_makes_the_breach_produce_nothing(
    casework: Casework,
) -> None:
    rid = await casework.routed_referral()
    assert (await casework.act(rid, "accept")).status_code == 200
    accepted = ["ReferralAccepted", "ReferralAssigned"]  # the worker who accepts is assigned
    await casework.feed(breached(rid))  # the accept is still on its way to the log
    assert await types_out(casework, rid) == accepted
    await casework.echo(rid)
    await casework.feed(breached(rid))  # and once it is folded from the log
    assert await types_out(casework, rid) == accepted
    assert (await casework.stored_state(rid))["lifecycle"]["status"] == "accepted"


async def test_a_breach_consumed_first_expires_the_offer_and_the_accept_is_refused(
    casework: Casework,
) -> None:
    rid = await casework.routed_referral()
    await casework.feed(breached(rid))
    [expired] = [m for m in await casework.outbox(rid) if m["type"] == "OfferExpired"]
    assert (expired["actor"], expired["source"]) == ("system:casework", "referral-hub/casework")
    assert expired["data"]["agency"] == AGENCY
    assert expired["data"]["due_by"] == "2025-03-16T09:30:00Z"
    snapshot = await casework.snapshot(rid)
    late = await casework.act(rid, "accept")
    assert (late.status_code, late.json()["error"]) == (409, "not_awaiting_acceptance")
    assert await casework.snapshot(rid) == snapshot
    detail = await casework.client.get(f"/referrals/{rid}", headers=casework.headers())
    assert detail.status_code == 404, "the offer left the agency"
    await casework.echo(rid)
    state = await casework.stored_state(rid)
    assert (state["lifecycle"]["status"], state["lifecycle"]["agency"]) == ("rerouting", None)


async def test_a_breach_and_an_accept_at_the_same_moment_have_one_winner(
    casework: Casework,
) -> None:
    for _ in range(4):
        rid = await casework.routed_referral()
        record = casework.deliver(str(rid), serialize_event(breached(rid)))
        answer, outcome = await asyncio.gather(casework.act(rid, "accept"), record)
        assert outcome is Outcome.HANDLED
        decided = await types_out(casework, rid)
        if answer.status_code == 200:
            assert decided == ["ReferralAccepted", "ReferralAssigned"]
        else:
            assert answer.json()["error"] == "not_awaiting_acceptance"
            assert decided == ["OfferExpired"]


async def test_a_breach_with_another_deadline_or_while_held_expires_nothing(
    casework: Casework,
) -> None:
    rid = await casework.routed_referral()
    await casework.feed(breached(rid, due_by=NOW))  # a deadline that is no longer running
    held_rid = await casework.routed_referral()
    await casework.feed(held(held_rid, at=NOW + timedelta(hours=40)), breached(held_rid))
    assert await types_out(casework, rid) == []
    assert await types_out(casework, held_rid) == []
    detail = await casework.client.get(f"/referrals/{held_rid}", headers=casework.headers())
    body = detail.json()
    assert (body["held"], body["due_by"], body["paused_remaining"]) == (True, None, "PT8H")
    assert body["overdue"] is False, "a paused deadline is never overdue"


async def test_a_cancellation_request_cancels_with_its_reason_and_references(
    casework: Casework,
) -> None:
    rid = await casework.accepted_referral()
    await casework.feed(cancellation_requested(rid, CancellationReason.MOVED_AWAY))
    cancelled = [m for m in await casework.outbox(rid) if m["type"] == "ReferralCancelled"]
    assert [c["data"]["reason"] for c in cancelled] == ["moved_away"]
    assert cancelled[0]["data"]["withdrawn_intelligence_refs"] == ["TEST/WITHDRAWN1"]
    shown = await casework.shown_state(rid)
    assert (shown["lifecycle"]["status"], shown["lifecycle"]["cancel_reason"]) == (
        "cancelled",
        "moved_away",
    )
    late = await casework.act(rid, "visits")
    assert (late.status_code, late.json()["error"]) == (409, "referral_cancelled")


async def test_a_cancellation_request_after_closure_changes_nothing(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    assert (await casework.act(rid, "complete", {"outcome": "signposted"})).status_code == 200
    assert (await casework.act(rid, "close")).status_code == 200
    await casework.feed(cancellation_requested(rid))  # the closure is not on the log yet
    await casework.echo(rid)
    await casework.feed(cancellation_requested(rid))  # nor once it is
    assert "ReferralCancelled" not in await types_out(casework, rid)
    assert (await casework.stored_state(rid))["lifecycle"]["status"] == "closed"


async def test_a_late_routing_after_the_cancellation_leaves_it_cancelled_and_in_no_queue(
    casework: Casework,
) -> None:
    agency = f"ag-{uuid.uuid4().hex[:10]}"
    rid = uuid.uuid4()
    await casework.feed(opened(rid), cancellation_requested(rid))
    await casework.echo(rid)
    await casework.feed(routed(rid, agency=agency))  # decided on ReferralOpened, landed late
    state = await casework.stored_state(rid)
    assert (state["lifecycle"]["status"], state["lifecycle"]["agency"]) == ("cancelled", None)
    assert (await casework.timeline(rid))[-1] == ("ReferralRouted", "referral_cancelled")
    staff = casework.headers(agency=agency)
    page = (await casework.client.get("/referrals", headers=staff)).json()
    assert page["items"] == []
    accept = await casework.client.post(f"/referrals/{rid}/accept", headers=staff)
    assert accept.status_code == 404
    police = casework.headers("police_coordinator", **POLICE)
    detail = (await casework.client.get(f"/referrals/{rid}", headers=police)).json()
    assert detail["status"] == "cancelled"
    routed_entry = detail["timeline"][-1]
    assert (routed_entry["type"], routed_entry["no_effect"]) == (
        "ReferralRouted",
        "referral_cancelled",
    )


async def test_a_proposal_delivered_twice_is_answered_once(casework: Casework) -> None:
    rid = await casework.routed_referral()
    proposal = breached(rid)
    raw = serialize_event(proposal)
    assert await casework.deliver(str(rid), raw) is Outcome.HANDLED
    assert await casework.deliver(str(rid), raw) is Outcome.DUPLICATE
    assert await types_out(casework, rid) == ["OfferExpired"]
