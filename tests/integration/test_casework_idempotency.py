"""Idempotency keys on staff actions: the same key again has one effect and the same answer;
a key reused for another request is refused; keys belong to their user."""

import asyncio

import pytest

from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import AGENCY

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]


async def test_the_same_key_twice_has_one_effect_and_the_same_answer(casework: Casework) -> None:
    rid = await casework.routed_referral()
    first = await casework.act(rid, "accept", key="accept-1")
    again = await casework.act(rid, "accept", key="accept-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert [e["type"] for e in await casework.outbox(rid)] == [
        "ReferralAccepted",
        "ReferralAssigned",
    ]
    assert [str(i) for i in first.json()["event_ids"]] == [
        e["id"] for e in await casework.outbox(rid)
    ]


async def test_concurrent_requests_with_one_key_have_one_effect(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    body = {"method": "phone", "result": "left_message"}
    answers = await asyncio.gather(
        *(casework.act(rid, "contact-attempts", body, key="contact-1") for _ in range(4))
    )
    assert {a.status_code for a in answers} == {200}
    assert all(a.json() == answers[0].json() for a in answers)
    assert (await casework.shown_state(rid))["contact_attempts"] == 1


async def test_a_key_reused_for_a_different_request_is_refused(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    body = {"method": "phone", "result": "no_answer"}
    assert (await casework.act(rid, "contact-attempts", body, key="k-1")).status_code == 200
    snapshot = await casework.snapshot(rid)
    other_body = {"method": "letter", "result": "no_answer"}
    for action, payload in [("contact-attempts", other_body), ("visits", None)]:
        response = await casework.act(rid, action, payload, key="k-1")
        assert (response.status_code, response.json()["error"]) == (422, "idempotency_key_reused")
    assert await casework.snapshot(rid) == snapshot


async def test_keys_belong_to_their_user(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    body = {"method": "phone", "result": "no_answer"}
    await casework.act(rid, "contact-attempts", body, key="shared")
    await casework.act(
        rid,
        "contact-attempts",
        body,
        key="shared",
        role="agency_lead",
        user="lead-1",
        agency=AGENCY,
    )
    assert (await casework.shown_state(rid))["contact_attempts"] == 2


async def test_without_a_key_a_repeat_is_judged_afresh(casework: Casework) -> None:
    rid = await casework.routed_referral()
    headers = casework.headers()
    first = await casework.client.post(f"/referrals/{rid}/accept", headers=headers)
    second = await casework.client.post(f"/referrals/{rid}/accept", headers=headers)
    assert (first.status_code, second.status_code) == (200, 409)
    types = [e["type"] for e in await casework.outbox(rid)]
    assert types == ["ReferralAccepted", "ReferralAssigned"], "one accept"
