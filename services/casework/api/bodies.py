"""Request bodies of the staff actions. Unknown fields are refused (422)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
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
from referral_schemas.text import AgencyCode

from services.runtime.auth import USER_ID_PATTERN

UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
"""A user id of the shape tokens' ``sub`` must have (services.runtime.auth): ASCII letters,
digits and ``. _ @ | + -``. The event contract's WorkerId is wider (any short text, for
events already on the log); the API narrows it so invisible and right-to-left characters
never reach an event."""


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeclineBody(Body):
    reason: DeclineReason | None = Field(default=None, description="Why (required).")


class AssignBody(Body):
    worker: UserId = Field(description="User id of the worker (a support worker: themselves).")


class ContactBody(Body):
    method: ContactMethod
    result: ContactResult


class VisitAttemptBody(Body):
    result: VisitResult = Field(description="Why the visit did not happen as planned.")


class EngagementBody(Body):
    level: EngagementLevel


class HoldBody(Body):
    reason: HoldReason


class CompleteBody(Body):
    outcome: Outcome = Field(description="The outcome, from the closed set.")


class DirectBody(Body):
    agency: AgencyCode = Field(
        description="Code of the agency to offer it to (an active agency of the directory in "
        "force; see GET /agencies)."
    )
    reason: DirectionReason = Field(description="Why the directory's choice is overridden.")


class CloseEscalationBody(Body):
    outcome: Outcome = Field(description="The final outcome, reported back to the police.")


class CancelBody(Body):
    reason: CancellationReason = Field(description="Why the referral is cancelled.")
