"""Request bodies of the staff actions. Unknown fields are refused (422)."""

from pydantic import BaseModel, ConfigDict, Field
from referral_schemas.lifecycle_v1 import (
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    HoldReason,
    Outcome,
    VisitResult,
)
from referral_schemas.text import WorkerId


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeclineBody(Body):
    reason: DeclineReason | None = Field(default=None, description="Why (required).")


class AssignBody(Body):
    worker: WorkerId = Field(description="User id of the worker (a support worker: themselves).")


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
