"""Staff actions through the API: recorded as events in the outbox in the same transaction
as the state change; refused with a specific 4xx that changes nothing; idempotent by key."""

from typing import Any

import pytest
from referral_schemas import parse_event

from services.runtime.consumer import Outcome
from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import AGENCY, cancelled

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]
POLICE: dict[str, Any] = {"user": "spoc-1", "agency": None, "force": "cumbria"}


async def test_a_referral_worked_from_acceptance_to_closure(casework: Casework) -> None:
    rid = await casework.routed_referral()
    # The worker who accepts is assigned it in the same decision, and works it to the end.
    steps: list[tuple[str, dict[str, Any] | None, str]] = [
        ("accept", None, "accepted"),
        ("contact-attempts", {"method": "phone", "result": "no_answer"}, "accepted"),
        ("visit-attempts", {"result": "person_not_present"}, "accepted"),
        ("visits", None, "accepted"),
        ("engagement", {"level": "engaged"}, "accepted"),
        ("complete", {"outcome": "engaged_with_support"}, "completed"),
        ("close", None, "closed"),
    ]
    for action, body, status in steps:
        response = await casework.act(rid, action, body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        if action == "contact-attempts":
            first = (await casework.shown_state(rid))["lifecycle"]["first_contact_at"]
            assert first is None, "an unanswered call is an attempt, not contact"
    events = await casework.outbox(rid)
    assert [e["type"] for e in events] == [
        "ReferralAccepted",
        "ReferralAssigned",
        "ContactAttempted",
        "VisitAttempted",
        "VisitCompleted",
        "EngagementRecorded",
        "ReferralCompleted",
        "ReferralClosed",
    ]
    for event in events:
        assert (event["topic"], event["subject"], event["source"]) == (
            "referral.events",
            str(rid),
            "referral-hub/casework",
        )
        assert (event["actor"], event["agency"]) == ("user:worker-1", AGENCY)
        assert event["correlationid"] == str(rid)  # the referral's chain, from intake on
        assert event["data"]["by"] == "worker-1"
    assert events[-1]["data"]["outcome"] == "engaged_with_support"
    shown = await casework.shown_state(rid)
    assert (shown["contact_attempts"], shown["visits_completed"]) == (1, 1)
    assert shown["lifecycle"]["first_contact_at"] == "2025-03-14T10:30:00Z", "the visit"
    assert shown["lifecycle"]["status"] == "closed"


async def test_our_own_events_are_folded_once_when_they_come_back_from_the_log(
    casework: Casework,
) -> None:
    rid = await casework.accepted_referral()
    await casework.act(rid, "contact-attempts", {"method": "phone", "result": "no_answer"})
    before = await casework.stored_state(rid)
    assert before["lifecycle"]["status"] == "awaiting_acceptance", "the log's state alone"
    assert before["contact_attempts"] == 0
    mine = ["ReferralAccepted", "ReferralAssigned", "ContactAttempted"]
    assert await casework.pending(rid) == mine
    assert (await casework.shown_state(rid))["contact_attempts"] == 1

    assert await casework.echo(rid) == mine
    folded = await casework.stored_state(rid)
    assert (folded["lifecycle"]["status"], folded["contact_attempts"]) == ("accepted", 1)
    assert await casework.pending(rid) == []
    assert await casework.shown_state(rid) == folded
    for event in await casework.outbox(rid):
        assert await casework.deliver(str(rid), event["raw"]) is Outcome.DUPLICATE
    assert await casework.stored_state(rid) == folded


async def test_a_police_hold_stops_work_until_lifted(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    held = await casework.act(
        rid,
        "holds",
        {"reason": "live_police_operation"},
        role="police_coordinator",
        **POLICE,
    )
    assert held.status_code == 200
    snapshot = await casework.snapshot(rid)
    for action, body in [
        ("complete", {"outcome": "signposted"}),
        ("engagement", {"level": "engaged"}),
        ("assign", {"worker": "worker-1"}),
        ("contact-attempts", {"method": "phone", "result": "no_answer"}),
        ("visits", None),
    ]:
        refused = await casework.act(rid, action, body)
        assert (refused.status_code, refused.json()["error"]) == (409, "referral_held"), action
    assert await casework.snapshot(rid) == snapshot
    lifted = await casework.act(rid, "holds", method="DELETE", role="police_coordinator", **POLICE)
    assert lifted.status_code == 200
    assert (await casework.act(rid, "complete", {"outcome": "signposted"})).status_code == 200
    hold = (await casework.outbox(rid))[2]  # after ReferralAccepted, ReferralAssigned
    assert (hold["type"], hold["actor"], hold["agency"]) == ("ReferralHeld", "user:spoc-1", None)
    assert hold["data"]["agency"] == AGENCY


async def test_a_declined_referral_leaves_the_agency(casework: Casework) -> None:
    rid = await casework.routed_referral()
    response = await casework.act(rid, "decline", {"reason": "no_capacity"})
    assert response.status_code == 200
    assert (await casework.outbox(rid))[0]["data"]["reason"] == "no_capacity"
    detail = await casework.client.get(f"/referrals/{rid}", headers=casework.headers())
    assert detail.status_code == 404


ILLEGAL: list[
    tuple[str, list[tuple[str, dict[str, Any] | None]], str, dict[str, Any] | None, int, str]
] = [
    ("accept-twice", [("accept", None)], "accept", None, 409, "not_awaiting_acceptance"),
    (
        "decline-accepted",
        [("accept", None)],
        "decline",
        {"reason": "no_capacity"},
        409,
        "not_awaiting_acceptance",
    ),
    (
        "contact-before-accept",
        [],
        "contact-attempts",
        {"method": "phone", "result": "no_answer"},
        409,
        "not_accepted",
    ),
    ("complete-before-accept", [], "complete", {"outcome": "signposted"}, 409, "not_accepted"),
    ("close-before-complete", [("accept", None)], "close", None, 409, "not_completed"),
    ("decline-without-reason", [], "decline", {}, 422, "reason_required"),
    (
        "assign-someone-else",
        [("accept", None)],
        "assign",
        {"worker": "worker-9"},
        403,
        "assign_others_not_allowed",
    ),
    (
        "accept-closed",
        [("accept", None), ("complete", {"outcome": "signposted"}), ("close", None)],
        "accept",
        None,
        409,
        "referral_closed",
    ),
]


@pytest.mark.parametrize(
    ("before", "action", "body", "status", "code"),
    [case[1:] for case in ILLEGAL],
    ids=[case[0] for case in ILLEGAL],
)
async def test_illegal_transitions_are_refused_and_change_nothing(
    casework: Casework,
    before: list[tuple[str, dict[str, Any] | None]],
    action: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    rid = await casework.routed_referral()
    for step, step_body in before:
        assert (await casework.act(rid, step, step_body)).status_code == 200
    snapshot = await casework.snapshot(rid)
    response = await casework.act(rid, action, body)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.json()["detail"]
    assert await casework.snapshot(rid) == snapshot


async def test_nothing_can_be_done_to_a_cancelled_referral(casework: Casework) -> None:
    rid = await casework.routed_referral()
    await casework.feed(cancelled(rid))
    snapshot = await casework.snapshot(rid)
    for action, body in [("accept", None), ("decline", {"reason": "no_capacity"})]:
        response = await casework.act(rid, action, body)
        assert (response.status_code, response.json()["error"]) == (409, "referral_cancelled")
    assert await casework.snapshot(rid) == snapshot


MALFORMED: list[tuple[str, str, Any, str]] = [
    ("unknown-reason", "decline", {"reason": "too_busy"}, "body.reason"),
    ("missing-field", "contact-attempts", {"method": "phone"}, "body.result"),
    ("unknown-field", "engagement", {"level": "engaged", "note": "x"}, "body.note"),
    ("outcome-not-in-set", "complete", {"outcome": "fine"}, "body.outcome"),
    ("blank-worker", "assign", {"worker": "   "}, "body.worker"),
    ("not-an-object", "decline", ["no_capacity"], "body"),
]


@pytest.mark.parametrize(
    ("action", "body", "field"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_malformed_requests_get_422_naming_the_field(
    casework: Casework, action: str, body: Any, field: str
) -> None:
    rid = await casework.accepted_referral()
    snapshot = await casework.snapshot(rid)
    response = await casework.act(rid, action, body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["detail"]
    assert await casework.snapshot(rid) == snapshot


@pytest.mark.parametrize(
    ("path", "headers", "field"),
    [
        ("/referrals/not-a-uuid/accept", {}, "path.referral_id"),
        ("/referrals/{rid}/accept", {"Idempotency-Key": "k" * 201}, "header.Idempotency-Key"),
        ("/referrals/{rid}/accept", {"Idempotency-Key": "has space"}, "header.Idempotency-Key"),
    ],
)
async def test_bad_ids_and_keys_get_422(
    casework: Casework, path: str, headers: dict[str, str], field: str
) -> None:
    rid = await casework.routed_referral()
    snapshot = await casework.snapshot(rid)
    all_headers = {**casework.headers(), **headers}
    response = await casework.client.post(path.format(rid=rid), headers=all_headers)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert await casework.snapshot(rid) == snapshot


async def test_outbox_events_are_valid_contract_events(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    for event in await casework.outbox(rid):
        assert parse_event(event["raw"]).type == event["type"]
