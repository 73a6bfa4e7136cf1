"""casework's transition table: every action in every state, for every role, is either
recorded as its event or refused with a specific code. The statuses and the hold rule come
from the shared lifecycle table."""

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
    ReferralAssigned,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralHeld,
    VisitResult,
)
from referral_schemas.referral_v1 import CancellationReason, ReferralCancelled
from referral_schemas.resolution_v1 import DirectionReason, EscalationClosed, ReferralDirected

from services.casework import decisions as d
from services.casework.domain import CaseState, evolve
from tests.unit.test_casework_helpers import (
    AGENCY,
    NOW,
    OTHER_AGENCY,
    auditor,
    cancelled,
    envelope,
    escalated,
    expired,
    held,
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


def staff_event(data: Any, by: str = "worker-1") -> Envelope[Any]:
    return staff_event_about(data, RID, by)


def _accepted_by_lead() -> list[Envelope[Any]]:
    """Accepted, nobody assigned yet (a lead's accept assigns no one)."""
    accept = ReferralAccepted(referral_id=RID, agency=AGENCY, by="lead-1", accepted_at=NOW)
    return [opened(RID), routed(RID), staff_event(accept, by="lead-1")]


def _assigned_to(worker_id: str) -> list[Envelope[Any]]:
    assign = ReferralAssigned(**WHO, worker=worker_id, assigned_at=NOW)
    return [*_accepted_by_lead(), staff_event(assign)]


def _accepted() -> list[Envelope[Any]]:
    """Accepted by worker-1, which assigns it to them (as their accept records)."""
    return _assigned_to("worker-1")


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
    "held-awaiting": lambda: [opened(RID), routed(RID), held(RID)],
    "rerouting": lambda: [
        opened(RID),
        routed(RID),
        staff_event(ReferralDeclined(**WHO, reason=DeclineReason.NO_CAPACITY, declined_at=NOW)),
    ],
    "escalated": lambda: [opened(RID), routed(RID), expired(RID), escalated(RID)],
    "accepted": _accepted,
    "unassigned": _accepted_by_lead,
    "colleagues": lambda: _assigned_to("worker-2"),
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
        result = evolve(state, event)
        assert isinstance(result, CaseState), result
        state = result
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
    "direct": "ReferralDirected",
    "close_escalation": "EscalationClosed",
    "cancel": "ReferralCancelled",
}
NA, NAC, NC = "not_awaiting_acceptance", "not_accepted", "not_completed"
HELD, CLOSED, CANCELLED = "referral_held", "referral_closed", "referral_cancelled"
# history -> expected result of each staff command, in STAFF_COMMANDS order ("ok" = recorded)
STAFF_TABLE: dict[str, tuple[str, ...]] = {
    "awaiting": ("ok", "ok", NAC, NAC, NAC, NAC, NAC, NAC, NC),
    # A police hold stops every worker action, and the acceptance deadline with it.
    "held-awaiting": (HELD, HELD, NAC, NAC, NAC, NAC, NAC, NAC, NC),
    "accepted": (NA, NA, "ok", "ok", "ok", "ok", "ok", "ok", NC),
    "held": (NA, NA, HELD, HELD, HELD, HELD, HELD, HELD, NC),
    "completed": (NA, NA, NAC, NAC, NAC, NAC, NAC, NAC, "ok"),
    "closed": (CLOSED,) * 9,
    "cancelled": (CANCELLED,) * 9,
    # No agency was offered it yet: staff cannot know of it at all.
    "opened": ("not_found",) * 9,
    # It left this agency (declined, offer expired): a stale action is told it is no
    # longer theirs, whatever happened to it since.
    "rerouting": (NA, NA, NAC, NAC, NAC, NAC, NAC, NAC, NC),
    "escalated": (NA, NA, NAC, NAC, NAC, NAC, NAC, NAC, NC),
}
STAFF_CASES = [
    (history, name, expected)
    for history, row in STAFF_TABLE.items()
    for name, expected in zip(STAFF_COMMANDS, row, strict=True)
]


def outcome_of(result: list[Any] | d.Refusal) -> str:
    if isinstance(result, d.Refusal):
        return result.code
    return " + ".join(str(event.EVENT_TYPE) for event in result)


def recorded(command: str, actor: d.Actor) -> str:
    """What an allowed command records: a support worker's accept also assigns them."""
    if command == "accept" and actor.role is d.Role.SUPPORT_WORKER:
        return "ReferralAccepted + ReferralAssigned"
    return OK[command]


@pytest.mark.parametrize(("history", "command", "expected"), STAFF_CASES)
@pytest.mark.parametrize("actor", [worker(), lead()], ids=["worker", "lead"])
def test_staff_actions(history: str, command: str, expected: str, actor: d.Actor) -> None:
    result = d.decide(state_of(history), STAFF_COMMANDS[command], actor, NOW)
    assert outcome_of(result) == (recorded(command, actor) if expected == "ok" else expected)


NOT_YOURS = "not_assigned_to_you"
# An accepted referral nobody is assigned to, or assigned to a colleague (worker-2): what
# worker-1 may do (in STAFF_COMMANDS order). An agency lead may do all of it.
ASSIGNMENT_TABLE: dict[str, tuple[str, ...]] = {
    "unassigned": (NA, NA, "ok", *(NOT_YOURS,) * 5, NC),
    "colleagues": (NA, NA, *(NOT_YOURS,) * 6, NC),
}


@pytest.mark.parametrize(
    ("history", "command", "expected"),
    [
        (history, name, expected)
        for history, row in ASSIGNMENT_TABLE.items()
        for name, expected in zip(STAFF_COMMANDS, row, strict=True)
    ],
)
def test_a_worker_works_only_the_referrals_assigned_to_them(
    history: str, command: str, expected: str
) -> None:
    result = d.decide(state_of(history), STAFF_COMMANDS[command], worker(), NOW)
    assert outcome_of(result) == (OK[command] if expected == "ok" else expected)
    if expected == NOT_YOURS:
        assert isinstance(result, d.Refusal)
        assert result.kind is d.RefusalKind.FORBIDDEN
    by_lead = d.decide(state_of(history), STAFF_COMMANDS[command], lead(), NOW)
    if expected in ("ok", NOT_YOURS):
        assert outcome_of(by_lead) == OK[command], "a lead works any of the agency's referrals"


def test_a_worker_who_accepts_is_assigned_in_the_same_decision() -> None:
    result = d.decide(state_of("awaiting"), d.Accept(), worker("worker-7"), NOW)
    assert isinstance(result, list)
    accepted, assigned = result
    assert isinstance(accepted, ReferralAccepted)
    assert isinstance(assigned, ReferralAssigned)
    assert (assigned.worker, assigned.by, assigned.agency) == ("worker-7", "worker-7", AGENCY)
    state = state_of("awaiting")
    for data in result:
        folded = evolve(state, staff_event(data, by="worker-7"))
        assert isinstance(folded, CaseState), folded
        state = folded
    assert (state.status, state.assigned_to) == ("accepted", "worker-7")
    contact = d.decide(state, STAFF_COMMANDS["contact"], worker("worker-7"), NOW)
    assert outcome_of(contact) == "ContactAttempted"


HOLD_TABLE = {
    "opened": ("ok", "not_held"),
    "awaiting": ("ok", "not_held"),
    "held-awaiting": ("already_held", "ok"),
    "rerouting": ("ok", "not_held"),
    "escalated": ("ok", "not_held"),
    "accepted": ("ok", "not_held"),
    "held": ("already_held", "ok"),
    "completed": ("ok", "not_held"),
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


RESOLUTIONS: dict[str, d.Command] = {
    "direct": d.Direct(OTHER_AGENCY, DirectionReason.CAPACITY_AGREED_WITH_AGENCY),
    "close_escalation": d.CloseEscalation(Outcome.SAFEGUARDING_ESCALATED),
    "cancel": d.CancelReferral(CancellationReason.NO_LONGER_REQUIRED),
}
ACC = "already_accepted"
# The coordinator resolves a referral only before an agency accepts it.
RESOLUTION_TABLE = {
    "opened": ("ok",) * 3,
    "awaiting": ("ok",) * 3,
    "held-awaiting": ("ok",) * 3,
    "rerouting": ("ok",) * 3,
    "escalated": ("ok",) * 3,
    "accepted": (ACC,) * 3,
    "held": (ACC,) * 3,
    "completed": (ACC,) * 3,
    "closed": (CLOSED,) * 3,
    "cancelled": (CANCELLED,) * 3,
}


@pytest.mark.parametrize(
    ("history", "command", "expected"),
    [
        (h, c, e)
        for h, row in RESOLUTION_TABLE.items()
        for c, e in zip(RESOLUTIONS, row, strict=True)
    ],
)
def test_police_resolutions(history: str, command: str, expected: str) -> None:
    result = d.decide(state_of(history), RESOLUTIONS[command], police(), NOW)
    assert outcome_of(result) == (OK[command] if expected == "ok" else expected)


def test_resolutions_record_the_coordinator_and_their_choice() -> None:
    state = state_of("escalated")

    def one(command: str) -> Any:
        result = d.decide(state, RESOLUTIONS[command], police(), NOW)
        assert isinstance(result, list)
        return result[0]

    directed, closed, cancel = one("direct"), one("close_escalation"), one("cancel")
    assert isinstance(directed, ReferralDirected)
    assert (directed.agency, directed.reason, directed.by) == (
        OTHER_AGENCY,
        DirectionReason.CAPACITY_AGREED_WITH_AGENCY,
        "spoc-1",
    )
    assert isinstance(closed, EscalationClosed)
    assert (closed.outcome, closed.by) == (Outcome.SAFEGUARDING_ESCALATED, "spoc-1")
    assert isinstance(cancel, ReferralCancelled)
    assert cancel.reason is CancellationReason.NO_LONGER_REQUIRED


@pytest.mark.parametrize(
    ("agencies", "expected"),
    [
        (None, "ReferralDirected"),
        ({OTHER_AGENCY: True}, "ReferralDirected"),
        ({AGENCY: True}, "unknown_agency"),
        ({OTHER_AGENCY: False}, "agency_inactive"),
    ],
    ids=["no-directory-yet", "active", "unknown", "inactive"],
)
def test_a_direction_names_an_active_agency_of_the_directory(
    agencies: dict[str, bool] | None, expected: str
) -> None:
    result = d.decide(state_of("escalated"), RESOLUTIONS["direct"], police(), NOW, agencies)
    assert outcome_of(result) == expected
    if isinstance(result, d.Refusal):
        assert result.kind is d.RefusalKind.INVALID


@pytest.mark.parametrize("command", list(RESOLUTIONS))
@pytest.mark.parametrize("actor", [worker(), lead()], ids=["worker", "lead"])
def test_staff_may_not_resolve_escalations(command: str, actor: d.Actor) -> None:
    result = d.decide(state_of("awaiting"), RESOLUTIONS[command], actor, NOW)
    assert isinstance(result, d.Refusal)
    assert result.code == "role_not_allowed"


ALL_COMMANDS = {**STAFF_COMMANDS, **HOLD_COMMANDS, **RESOLUTIONS}


@pytest.mark.parametrize("command", list(ALL_COMMANDS))
@pytest.mark.parametrize(
    "actor",
    [worker(agency=OTHER_AGENCY), lead(agency=OTHER_AGENCY), police(force="lancashire"), auditor()],
    ids=["other-worker", "other-lead", "other-force", "auditor"],
)
def test_outsiders_are_told_the_referral_does_not_exist(command: str, actor: d.Actor) -> None:
    result = d.decide(state_of("accepted"), ALL_COMMANDS[command], actor, NOW)
    assert isinstance(result, d.Refusal)
    assert (result.code, result.kind) == ("not_found", d.RefusalKind.OUT_OF_SCOPE)


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
