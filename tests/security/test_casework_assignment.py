"""A support worker works only the referrals assigned to them (casework's staff API on the
real PostgreSQL, in-process): a colleague's referral is refused 403 ``not_assigned_to_you``
with nothing recorded, and the refusal is a security event. An agency lead works and
assigns any of the agency's referrals; the worker who accepts a referral is assigned it."""

import uuid
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import AGENCY

pytestmark = pytest.mark.security
__all__ = ["casework", "casework_pool", "signing_keys"]

LEAD: dict[str, Any] = {"role": "agency_lead", "user": "lead-1", "agency": AGENCY}
WORK: list[tuple[str, dict[str, Any] | None]] = [
    ("contact-attempts", {"method": "phone", "result": "spoke_to_person"}),
    ("visit-attempts", {"result": "no_answer"}),
    ("visits", None),
    ("engagement", {"level": "engaged"}),
    ("complete", {"outcome": "engaged_with_support"}),
    ("assign", {"worker": "worker-1"}),
]


async def _accepted_by_lead(casework: Casework, assign_to: str | None) -> uuid.UUID:
    rid = await casework.routed_referral()
    assert (await casework.act(rid, "accept", **LEAD)).status_code == 200
    if assign_to is not None:
        assigned = await casework.act(rid, "assign", {"worker": assign_to}, **LEAD)
        assert assigned.status_code == 200
    return rid


async def test_a_worker_cannot_work_a_referral_assigned_to_a_colleague(
    casework: Casework,
) -> None:
    rid = await _accepted_by_lead(casework, assign_to="worker-2")
    snapshot = await casework.snapshot(rid)
    with capture_logs() as logs:
        for action, body in WORK:
            refused = await casework.act(rid, action, body, user="worker-1")
            assert refused.status_code == 403, (action, refused.text)
            assert refused.json()["error"] == "not_assigned_to_you"
            assert "colleague" in refused.json()["detail"]
    assert await casework.snapshot(rid) == snapshot, "nothing recorded"
    denials = [line for line in logs if line["event"] == "api_access_denied"]
    assert len(denials) == len(WORK)
    assert denials[0] == {
        "event": "api_access_denied",
        "category": "security",
        "log_level": "warning",
        "status": 403,
        "code": "not_assigned_to_you",
        "method": "POST",
        "route": "/referrals/{referral_id}/contact-attempts",
        "user": "worker-1",
        "role": "support_worker",
        "referral_id": str(rid),
    }

    # The colleague it is assigned to works it, and so may the agency lead.
    contact = {"method": "phone", "result": "no_answer"}
    assert (
        await casework.act(rid, "contact-attempts", contact, user="worker-2")
    ).status_code == 200
    assert (await casework.act(rid, "visits", None, **LEAD)).status_code == 200
    done = await casework.act(rid, "complete", {"outcome": "signposted"}, user="worker-2")
    assert done.status_code == 200
    closing = await casework.act(rid, "close", user="worker-1")
    assert (closing.status_code, closing.json()["error"]) == (403, "not_assigned_to_you")
    assert (await casework.act(rid, "close", user="worker-2")).status_code == 200


async def test_an_unassigned_referral_is_taken_before_it_is_worked(casework: Casework) -> None:
    rid = await _accepted_by_lead(casework, assign_to=None)
    contact = {"method": "phone", "result": "no_answer"}
    refused = await casework.act(rid, "contact-attempts", contact, user="worker-1")
    assert (refused.status_code, refused.json()["error"]) == (403, "not_assigned_to_you")
    assert "assign it to yourself" in refused.json()["detail"]
    taken = await casework.act(rid, "assign", {"worker": "worker-1"}, user="worker-1")
    assert taken.status_code == 200
    assert (
        await casework.act(rid, "contact-attempts", contact, user="worker-1")
    ).status_code == 200
    # Once taken, a colleague can neither work it nor take it over.
    for action, body in WORK:
        other = await casework.act(rid, action, body, user="worker-3")
        assert (other.status_code, other.json()["error"]) == (403, "not_assigned_to_you"), action
    # The lead reassigns it; then the first worker is the one refused.
    assert (await casework.act(rid, "assign", {"worker": "worker-3"}, **LEAD)).status_code == 200
    again = await casework.act(rid, "contact-attempts", contact, user="worker-1")
    assert (again.status_code, again.json()["error"]) == (403, "not_assigned_to_you")


async def test_the_worker_who_accepts_is_assigned_and_answers_need_no_assignment(
    casework: Casework,
) -> None:
    declined = await casework.routed_referral()
    answer = await casework.act(declined, "decline", {"reason": "no_capacity"}, user="worker-5")
    assert answer.status_code == 200, "any worker of the agency answers an offer"

    rid = await casework.routed_referral()
    accepted = await casework.act(rid, "accept", user="worker-5")
    assert accepted.status_code == 200
    assert accepted.json()["events"] == ["ReferralAccepted", "ReferralAssigned"]
    detail = await casework.client.get(f"/referrals/{rid}", headers=casework.headers())
    assert detail.json()["assigned_to"] == "worker-5"
    [assigned] = [m for m in await casework.outbox(rid) if m["type"] == "ReferralAssigned"]
    assert (assigned["data"]["worker"], assigned["data"]["by"]) == ("worker-5", "worker-5")
    contact = {"method": "phone", "result": "no_answer"}
    mine = await casework.act(rid, "contact-attempts", contact, user="worker-5")
    assert mine.status_code == 200
    theirs = await casework.act(rid, "contact-attempts", contact, user="worker-1")
    assert (theirs.status_code, theirs.json()["error"]) == (403, "not_assigned_to_you")
