"""casework's transition table: every action in every state, for every role, is either
recorded as its event or refused with a specific code."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from referral_schemas import Envelope
from referral_schemas.lifecycle_v1 import (
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    HoldReason,
    Outcome,
    ReferralAccepted,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralHeld,
    VisitResult,
)

from services.casework import decisions as d
from services.casework.domain import CaseState, apply
from tests.unit.test_casework_helpers import (
    AGENCY,
    NOW,
    OTHER_AGENCY,
    auditor,
    cancelled,
    envelope,
    escalated,
    lead,
    opened,
    police,
    routed,
    worker,
)
from tests.unit.test_casework_helpers import staff_event as staff_event_about

pytestmark = pytest.mark.unit
RID = uuid.UUID("5b7f0a52-96a4-4c47-8a39-1f0d2c3b4a50")
WHO: dict[str, Any] = {"referral_id": RID, "agency": AGENCY, "by": "worker-1"}
OUTCOME = Outcome.ENGAGED_WITH_SUPPORT


def staff_event(data: Any) -> Envelope[Any]:
    return staff_event_about(data, RID)


def _accepted() -> list[Envelope[Any]]:
    return [opened(RID), routed(RID), staff_event(ReferralAccepted(**WHO, accepted_at=NOW))]


def _held() -> list[Envelope[Any]]:
    hold = ReferralHeld(
        referral_id=RID, agency=AGENCY, reason=HoldReason.LIVE_POLICE_OPERATION, held_at=NOW, by="p"
    )
    return [*_accepted(), envelope(hold, RID, actor="user:p")]


def _completed() -> list[Envelope[Any]]:
    done = ReferralCompleted(**WHO, outcome=OUTCOME, completed_at=NOW)
    return [*_accepted(), staff_event(done)]


HISTORIES: dict[str, Callable[[], list[Envelope[Any]]]] = {
    "opened": lambda: [opened(RID)],
    "awaiting": lambda: [opened(RID), routed(RID)],
    "declined": lambda: [
        opened(RID),
        routed(RID),
        staff_event(ReferralDeclined(**WHO, reason=DeclineReason.NO_CAPACITY, declined_at=NOW)),
    ],
    "escalated": lambda: [opened(RID), routed(RID), escalated(RID)],
    "accepted": _accepted,
    "held": _held,
    "completed": _completed,
    "closed": lambda: [
        *_completed(),
        staff_event(ReferralClosed(**WHO, outcome=OUTCOME, closed_at=NOW)),
    ],
    "cancelled": lambda: [opened(RID), routed(RID), cancelled(RID)],
}


def state_of(history: str) -> CaseState:
    state: CaseState | None = None
    for event in HISTORIES[history]():
        state = apply(state, event)
    assert state is not None
    return state


STAFF_COMMANDS: dict[str, d.Command] = {
    "accept": d.Accept(),
    "decline": d.Decline(DeclineReason.NO_CAPACITY),
    "assign": d.Assign("worker-1"),
    "contact": d.RecordContact(ContactMethod.PHONE, ContactResult.NO_ANSWER),
    "visit_attempt": d.RecordVisitAttempt(VisitResult.NO_ANSWER),
    "visit": d.RecordVisit(),
    "engagement": d.RecordEngagement(EngagementLevel.ENGAGED),
    "complete": d.Complete(OUTCOME),
    "close": d.Close(),
}
OK = {
    "accept": "ReferralAccepted",
    "decline": "ReferralDeclined",
    "assign": "ReferralAssigned",
    "contact": "ContactAttempted",
    "visit_attempt": "VisitAttempted",
    "visit": "VisitCompleted",
    "engagement": "EngagementRecorded",
    "complete": "ReferralCompleted",
    "close": "ReferralClosed",
    "hold": "ReferralHeld",
    "lift": "ReferralResumed",
}
NA, NAC, NC = "not_awaiting_acceptance", "not_accepted", "not_completed"
HELD, CLOSED, CANCELLED = "referral_held", "referral_closed", "referral_cancelled"
# history -> expected result of each staff command, in STAFF_COMMANDS order ("ok" = recorded)
STAFF_TABLE: dict[str, tuple[str, ...]] = {
    "awaiting": ("ok", "ok", NAC, NAC, NAC, NAC, NAC, NAC, NC),
    "accepted": (NA, NA, "ok", "ok", "ok", "ok", "ok", "ok", NC),
    "held": (NA, NA, "ok", HELD, HELD, HELD, "ok", HELD, NC),
    "completed": (NA, NA, NAC, NAC, NAC, NAC, NAC, NAC, "ok"),
    "closed": (CLOSED,) * 9,
    "cancelled": (CANCELLED,) * 9,
    # Nobody at an agency holds these: staff cannot see them at all.
    "opened": ("not_found",) * 9,
    "declined": ("not_found",) * 9,
    "escalated": ("not_found",) * 9,
}
STAFF_CASES = [
    (history, name, expected)
    for history, row in STAFF_TABLE.items()
    for name, expected in zip(STAFF_COMMANDS, row, strict=True)
]


def outcome_of(result: list[Any] | d.Refusal) -> str:
    if isinstance(result, d.Refusal):
        return result.code
    assert len(result) == 1
    return str(result[0].EVENT_TYPE)


@pytest.mark.parametrize(("history", "command", "expected"), STAFF_CASES)
@pytest.mark.parametrize("actor", [worker(), lead()], ids=["worker", "lead"])
def test_staff_actions(history: str, command: str, expected: str, actor: d.Actor) -> None:
    result = d.decide(state_of(history), STAFF_COMMANDS[command], actor, NOW)
    assert outcome_of(result) == (OK[command] if expected == "ok" else expected)


HOLD_TABLE = {
    "opened": ("ok", "not_held"),
    "awaiting": ("ok", "not_held"),
    "declined": ("ok", "not_held"),
    "escalated": ("ok", "not_held"),
    "accepted": ("ok", "not_held"),
    "held": ("already_held", "ok"),
    "completed": ("not_open", "not_open"),
    "closed": (CLOSED, CLOSED),
    "cancelled": (CANCELLED, CANCELLED),
}
HOLD_COMMANDS: dict[str, d.Command] = {
    "hold": d.PlaceHold(HoldReason.LIVE_POLICE_OPERATION),
    "lift": d.LiftHold(),
}


@pytest.mark.parametrize(
    ("history", "command", "expected"),
    [(h, c, e) for h, row in HOLD_TABLE.items() for c, e in zip(HOLD_COMMANDS, row, strict=True)],
)
def test_police_holds(history: str, command: str, expected: str) -> None:
    result = d.decide(state_of(history), HOLD_COMMANDS[command], police(), NOW)
    assert outcome_of(result) == (OK[command] if expected == "ok" else expected)


ALL_COMMANDS = {**STAFF_COMMANDS, **HOLD_COMMANDS}


@pytest.mark.parametrize("command", list(ALL_COMMANDS))
@pytest.mark.parametrize(
    "actor",
    [worker(agency=OTHER_AGENCY), lead(agency=OTHER_AGENCY), police(force="lancashire"), auditor()],
    ids=["other-worker", "other-lead", "other-force", "auditor"],
)
def test_outsiders_are_told_the_referral_does_not_exist(command: str, actor: d.Actor) -> None:
    result = d.decide(state_of("accepted"), ALL_COMMANDS[command], actor, NOW)
    assert isinstance(result, d.Refusal)
    assert (result.code, result.kind) == ("not_found", d.RefusalKind.NOT_FOUND)


@pytest.mark.parametrize("command", list(STAFF_COMMANDS))
def test_police_may_not_do_casework(command: str) -> None:
    result = d.decide(state_of("accepted"), STAFF_COMMANDS[command], police(), NOW)
    assert isinstance(result, d.Refusal)
    assert (result.code, result.kind) == ("role_not_allowed", d.RefusalKind.FORBIDDEN)


@pytest.mark.parametrize("command", list(HOLD_COMMANDS))
@pytest.mark.parametrize("actor", [worker(), lead()], ids=["worker", "lead"])
def test_staff_may_not_place_or_lift_holds(command: str, actor: d.Actor) -> None:
    result = d.decide(state_of("held"), HOLD_COMMANDS[command], actor, NOW)
    assert isinstance(result, d.Refusal)
    assert result.code == "role_not_allowed"


def test_a_decline_needs_a_reason() -> None:
    result = d.decide(state_of("awaiting"), d.Decline(None), worker(), NOW)
    assert isinstance(result, d.Refusal)
    assert (result.code, result.kind) == ("reason_required", d.RefusalKind.INVALID)


def test_only_a_lead_assigns_someone_else() -> None:
    refused = d.decide(state_of("accepted"), d.Assign("worker-2"), worker(), NOW)
    assert isinstance(refused, d.Refusal)
    assert (refused.code, refused.kind) == ("assign_others_not_allowed", d.RefusalKind.FORBIDDEN)
    assigned = d.decide(state_of("accepted"), d.Assign("worker-2"), lead(), NOW)
    assert outcome_of(assigned) == "ReferralAssigned"


def test_events_record_who_acted_for_which_agency_and_when() -> None:
    result = d.decide(state_of("awaiting"), d.Decline(DeclineReason.SAFETY_CONCERNS), worker(), NOW)
    assert isinstance(result, list)
    event = result[0]
    assert isinstance(event, ReferralDeclined)
    assert (event.agency, event.by, event.declined_at, event.reason) == (
        AGENCY,
        "worker-1",
        NOW,
        DeclineReason.SAFETY_CONCERNS,
    )


def test_close_carries_the_completed_outcome() -> None:
    result = d.decide(state_of("completed"), d.Close(), lead(), NOW)
    assert isinstance(result, list)
    assert isinstance(result[0], ReferralClosed)
    assert result[0].outcome is OUTCOME
