"""The action forms of a referral page: which show for whom and when, and the request each
becomes at casework. Pure.

Showing a form is a convenience, not the rule: casework checks every action against the
referral's current state and the user's role, and the console shows its reason when it
refuses (a page left open while a colleague acted, for example).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from referral_schemas.lifecycle_v1 import (
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    HoldReason,
    Outcome,
    VisitResult,
)
from referral_schemas.referral_v1 import CancellationReason
from referral_schemas.resolution_v1 import DirectionReason

STAFF = frozenset({"support_worker", "agency_lead"})
POLICE = frozenset({"police_coordinator"})
BEFORE_ACCEPTANCE = frozenset({"opened", "awaiting_acceptance", "rerouting", "escalated"})
OPEN = BEFORE_ACCEPTANCE | {"accepted", "completed"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    options: tuple[str, ...]
    """Codes to choose from; empty for a text field."""
    missing: str
    """What to say when it is left empty."""
    from_agencies: bool = False
    """Chosen from the directory's active agencies (casework's list), when it has one;
    typed as a code otherwise. casework checks the code either way."""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    title: str
    button: str
    done: str
    path: str
    roles: frozenset[str]
    statuses: frozenset[str]
    fields: tuple[Field, ...] = ()
    method: str = "POST"
    approaches_person: bool = False
    """Not offered while the police have asked staff not to approach (a hold)."""
    when_held: bool | None = None
    """Offered only when held (True) or only when not held (False); None: either."""


def _choice(name: str, label: str, codes: type[StrEnum], missing: str) -> Field:
    return Field(name, label, tuple(code.value for code in codes), missing)


_AWAITING = frozenset({"awaiting_acceptance"})
_ACCEPTED = frozenset({"accepted"})

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "accept", "Accept", "Accept referral", "Referral accepted.", "accept", STAFF, _AWAITING
    ),
    ActionSpec(
        "decline",
        "Decline",
        "Decline referral",
        "Referral declined; it will be routed again.",
        "decline",
        STAFF,
        _AWAITING,
        (
            _choice(
                "reason", "Reason for declining", DeclineReason, "Choose a reason for declining."
            ),
        ),
    ),
    ActionSpec(
        "assign",
        "Assign",
        "Assign",
        "Referral assigned.",
        "assign",
        STAFF,
        _ACCEPTED,
        (Field("worker", "Worker's user id", (), "Enter the user id of the worker."),),
    ),
    ActionSpec(
        "contact",
        "Log a contact attempt",
        "Log contact attempt",
        "Contact attempt logged.",
        "contact-attempts",
        STAFF,
        _ACCEPTED,
        (
            _choice("method", "How", ContactMethod, "Choose how you tried to make contact."),
            _choice("result", "Result", ContactResult, "Choose the result of the attempt."),
        ),
        approaches_person=True,
    ),
    ActionSpec(
        "visit",
        "Log a completed home visit",
        "Log visit",
        "Home visit logged.",
        "visits",
        STAFF,
        _ACCEPTED,
        approaches_person=True,
    ),
    ActionSpec(
        "visit-attempt",
        "Log a visit that did not happen",
        "Log visit attempt",
        "Visit attempt logged.",
        "visit-attempts",
        STAFF,
        _ACCEPTED,
        (_choice("result", "What happened", VisitResult, "Choose what happened."),),
        approaches_person=True,
    ),
    ActionSpec(
        "engagement",
        "Record engagement",
        "Record engagement",
        "Engagement recorded.",
        "engagement",
        STAFF,
        _ACCEPTED,
        (_choice("level", "Engagement", EngagementLevel, "Choose how far the person engages."),),
    ),
    ActionSpec(
        "complete",
        "Complete with an outcome",
        "Complete referral",
        "Referral completed. Close it to report the outcome to the police.",
        "complete",
        STAFF,
        _ACCEPTED,
        (_choice("outcome", "Outcome", Outcome, "Choose the outcome."),),
        approaches_person=True,
    ),
    ActionSpec(
        "close",
        "Close",
        "Close referral",
        "Referral closed; the outcome goes to the police.",
        "close",
        STAFF,
        frozenset({"completed"}),
    ),
    ActionSpec(
        "hold",
        "Place a police hold",
        "Place hold",
        "Hold placed: staff will not approach the person.",
        "holds",
        POLICE,
        OPEN,
        (_choice("reason", "Reason for the hold", HoldReason, "Choose a reason for the hold."),),
        when_held=False,
    ),
    ActionSpec(
        "lift-hold",
        "Lift the police hold",
        "Lift hold",
        "Hold lifted.",
        "holds",
        POLICE,
        OPEN,
        method="DELETE",
        when_held=True,
    ),
    # The coordinator's resolutions of a referral no agency has accepted (an escalation).
    ActionSpec(
        "direct",
        "Direct to an agency",
        "Direct referral",
        "Referral directed: it will be offered to that agency.",
        "direct",
        POLICE,
        BEFORE_ACCEPTANCE,
        (
            Field("agency", "Agency", (), "Choose the agency to offer it to.", from_agencies=True),
            _choice(
                "reason", "Why this agency", DirectionReason, "Choose why you direct it there."
            ),
        ),
    ),
    ActionSpec(
        "close-escalation",
        "Close with an outcome",
        "Close referral",
        "Referral closed; the outcome is reported to your force.",
        "close-escalation",
        POLICE,
        BEFORE_ACCEPTANCE,
        (_choice("outcome", "Outcome", Outcome, "Choose the outcome."),),
    ),
    ActionSpec(
        "cancel",
        "Cancel the referral",
        "Cancel referral",
        "Referral cancelled.",
        "cancel",
        POLICE,
        BEFORE_ACCEPTANCE,
        (
            _choice(
                "reason",
                "Reason for cancelling",
                CancellationReason,
                "Choose a reason for cancelling.",
            ),
        ),
    ),
)

BY_NAME = {spec.name: spec for spec in ACTIONS}


def offered(status: str, held: bool, role: str) -> list[ActionSpec]:
    """The forms to show on a referral page for this user."""
    return [
        spec
        for spec in ACTIONS
        if role in spec.roles
        and status in spec.statuses
        and not (held and spec.approaches_person)
        and (spec.when_held is None or spec.when_held == held)
    ]


@dataclass(frozen=True)
class FormProblem:
    field: str
    message: str


def request_body(
    spec: ActionSpec, form: Mapping[str, str], *, role: str, user: str
) -> dict[str, str] | FormProblem | None:
    """The JSON body for casework (None: no body), or what the user must fix first.

    A support worker can assign only themselves, so their assign form carries no field and
    the console fills in their own id.
    """
    if not spec.fields:
        return None
    body: dict[str, str] = {}
    for field in spec.fields:
        if spec.name == "assign" and role == "support_worker":
            body[field.name] = user
            continue
        value = form.get(field.name, "").strip()
        if not value:
            return FormProblem(field.name, field.missing)
        if field.options and value not in field.options:
            return FormProblem(field.name, f"{field.label}: choose one of the options.")
        body[field.name] = value
    return body
