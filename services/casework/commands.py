"""Who acts on a referral, what they ask for, and how casework says no. Data only.

The rules deciding each command are in ``decisions``.
"""

import enum
from dataclasses import dataclass

from referral_schemas.lifecycle import Refusal as LifecycleRefusal
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


class Role(enum.StrEnum):
    SUPPORT_WORKER = "support_worker"
    AGENCY_LEAD = "agency_lead"
    POLICE_COORDINATOR = "police_coordinator"
    AUDITOR = "auditor"


STAFF = frozenset({Role.SUPPORT_WORKER, Role.AGENCY_LEAD})
POLICE = frozenset({Role.POLICE_COORDINATOR})


@dataclass(frozen=True)
class Actor:
    """A verified caller with a role casework knows."""

    user: str
    role: Role
    agency: str | None
    force: str | None


class RefusalKind(enum.StrEnum):
    NOT_FOUND = "not_found"
    OUT_OF_SCOPE = "out_of_scope"
    """The referral exists but not for this caller: answered exactly like NOT_FOUND (so
    existence never leaks), and logged as an access denial."""
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True)
class Refusal(LifecycleRefusal):
    """The shared refusal, with the kind of "no" the API answers it with."""

    kind: RefusalKind = RefusalKind.CONFLICT


# Commands: one class per staff action.
@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Decline:
    reason: DeclineReason | None


@dataclass(frozen=True)
class Assign:
    worker: str


@dataclass(frozen=True)
class RecordContact:
    method: ContactMethod
    result: ContactResult


@dataclass(frozen=True)
class RecordVisitAttempt:
    result: VisitResult


@dataclass(frozen=True)
class RecordVisit:
    pass


@dataclass(frozen=True)
class RecordEngagement:
    level: EngagementLevel


@dataclass(frozen=True)
class PlaceHold:
    reason: HoldReason


@dataclass(frozen=True)
class LiftHold:
    pass


@dataclass(frozen=True)
class Complete:
    outcome: Outcome


@dataclass(frozen=True)
class Close:
    pass


# The police coordinator's resolutions of a referral no agency has accepted.
@dataclass(frozen=True)
class Direct:
    """Offer it to this agency, over the directory's capacity and coverage."""

    agency: str
    reason: DirectionReason


@dataclass(frozen=True)
class CloseEscalation:
    """Close it with an outcome (e.g. the police took it on themselves)."""

    outcome: Outcome


@dataclass(frozen=True)
class CancelReferral:
    reason: CancellationReason


Command = (
    Accept
    | Decline
    | Assign
    | RecordContact
    | RecordVisitAttempt
    | RecordVisit
    | RecordEngagement
    | PlaceHold
    | LiftHold
    | Complete
    | Close
    | Direct
    | CloseEscalation
    | CancelReferral
)
