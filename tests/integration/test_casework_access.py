"""Who may do what through the casework API: every role, on its own agency's (or force's)
referral, another's, and an unknown id, at every endpoint. Another agency's referral
answers exactly like one that does not exist (404), so existence never leaks."""

import uuid
from typing import Any

import pytest

from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import AGENCY, OTHER_AGENCY, opened, routed

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]

ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "detail": ("GET", "", None),
    "accept": ("POST", "/accept", None),
    "decline": ("POST", "/decline", {"reason": "no_capacity"}),
    "assign": ("POST", "/assign", {"worker": "worker-1"}),
    "contact": ("POST", "/contact-attempts", {"method": "phone", "result": "no_answer"}),
    "visit_attempt": ("POST", "/visit-attempts", {"result": "no_answer"}),
    "visit": ("POST", "/visits", None),
    "engagement": ("POST", "/engagement", {"level": "engaged"}),
    "hold": ("POST", "/holds", {"reason": "live_police_operation"}),
    "lift": ("DELETE", "/holds", None),
    "complete": ("POST", "/complete", {"outcome": "signposted"}),
    "close": ("POST", "/close", None),
    "direct": (
        "POST",
        "/direct",
        {"agency": "twc-carlisle", "reason": "capacity_agreed_with_agency"},
    ),
    "close_escalation": ("POST", "/close-escalation", {"outcome": "safeguarding_escalated"}),
    "cancel": ("POST", "/cancel", {"reason": "no_longer_required"}),
}
ROLES: dict[str, dict[str, Any]] = {
    "support_worker": {"user": "worker-1", "agency": AGENCY},
    "agency_lead": {"user": "lead-1", "agency": AGENCY},
    "police_coordinator": {"user": "spoc-1", "agency": None, "force": "cumbria"},
    "auditor": {"user": "audit-1", "agency": None},
}
# On its own referral, awaiting acceptance: 200 done, 409 not in this state, 403 wrong role.
STAFF_ON_OWN = {
    "detail": 200,
    "accept": 200,
    "decline": 200,
    "hold": 403,
    "lift": 403,
    "direct": 403,
    "close_escalation": 403,
    "cancel": 403,
}
POLICE_ON_OWN = {
    "detail": 200,
    "hold": 200,
    "lift": 409,
    "direct": 200,
    "close_escalation": 200,
    "cancel": 200,
}


def expected_on_own(role: str, endpoint: str) -> int:
    if role in ("support_worker", "agency_lead"):
        return STAFF_ON_OWN.get(endpoint, 409)
    if role == "police_coordinator":
        return POLICE_ON_OWN.get(endpoint, 403)
    return 404  # auditors read through the audit service, not here


async def _target(casework: Casework, target: str) -> uuid.UUID:
    if target == "unknown":
        return uuid.uuid4()
    if target == "own":
        return await casework.routed_referral()
    rid = uuid.uuid4()
    await casework.feed(opened(rid, force="lancashire"), routed(rid, agency=OTHER_AGENCY))
    return rid


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("target", ["own", "other", "unknown"])
@pytest.mark.parametrize("role", list(ROLES))
async def test_authorization_matrix(
    casework: Casework, role: str, target: str, endpoint: str
) -> None:
    rid = await _target(casework, target)
    method, suffix, body = ENDPOINTS[endpoint]
    before = await casework.stored_state(rid)
    response = await casework.client.request(
        method,
        f"/referrals/{rid}{suffix}",
        json=body,
        headers=casework.headers(role, **ROLES[role], key=str(uuid.uuid4())),
    )
    expected = expected_on_own(role, endpoint) if target == "own" else 404
    assert response.status_code == expected, response.text
    if expected != 200:
        assert response.json()["error"]
        assert await casework.stored_state(rid) == before
        assert await casework.outbox(rid) == []


async def test_not_found_looks_the_same_for_another_agencys_and_an_unknown_referral(
    casework: Casework,
) -> None:
    theirs = await casework.routed_referral(agency=OTHER_AGENCY)
    headers = casework.headers()
    other = await casework.client.get(f"/referrals/{theirs}", headers=headers)
    unknown = await casework.client.get(f"/referrals/{uuid.uuid4()}", headers=headers)
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()


@pytest.mark.parametrize("role", ["support_worker", "agency_lead", "police_coordinator"])
async def test_the_queue_is_open_to_staff_and_police(casework: Casework, role: str) -> None:
    response = await casework.client.get(
        "/referrals", headers=casework.headers(role, **ROLES[role])
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "claims"),
    [("auditor", ROLES["auditor"]), ("commissioner", {"user": "c-1", "agency": AGENCY})],
)
async def test_roles_without_a_queue_are_forbidden(
    casework: Casework, role: str, claims: dict[str, Any]
) -> None:
    response = await casework.client.get("/referrals", headers=casework.headers(role, **claims))
    assert response.status_code == 403
    assert response.json()["error"] in ("role_not_allowed", "unknown_role")


def _bad_authorization(casework: Casework, kind: str) -> dict[str, str]:
    good = casework.headers()["Authorization"]
    return {
        "none": {},
        "basic": {"Authorization": "Basic d29ya2VyOnB3"},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "tampered": {
            "Authorization": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        },
        "no_agency": casework.headers("support_worker", agency=None),
        "police_without_force": casework.headers("police_coordinator", agency=None),
    }[kind]


@pytest.mark.parametrize(
    "kind", ["none", "basic", "garbage", "tampered", "no_agency", "police_without_force"]
)
@pytest.mark.parametrize("endpoint", ["queue", "detail", "accept"])
async def test_unauthenticated_requests_get_401(
    casework: Casework, kind: str, endpoint: str
) -> None:
    rid = await casework.routed_referral()
    method, path = {
        "queue": ("GET", "/referrals"),
        "detail": ("GET", f"/referrals/{rid}"),
        "accept": ("POST", f"/referrals/{rid}/accept"),
    }[endpoint]
    response = await casework.client.request(
        method, path, headers=_bad_authorization(casework, kind)
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] in ("not_authenticated", "invalid_token")
    assert await casework.outbox(rid) == []
