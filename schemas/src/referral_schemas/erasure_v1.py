"""Erasure of a person's details, schema version 1 (docs/privacy.md, "Erasure").

Published on ``referral.events``, keyed by the referral id, so an erasure has its place in
the referral's history. They are not lifecycle events: erasure changes no status, and is
valid in every status, the terminal ones included. The operator asks (`hub erase`); intake,
which keeps the referral's data keys, destroys them and its own copy, and says so.
"""

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from referral_schemas.lifecycle_v1 import _ReferralEvent
from referral_schemas.text import ShortText


class ErasureScope(StrEnum):
    """What an erasure was asked for."""

    REFERRAL = "referral"
    """This referral's personal details."""
    PERSON = "person"
    """The person's details in every referral intake matched to them."""
    RETENTION = "retention"
    """The retention period of the referral's data class ran out (docs/privacy.md)."""


class ErasureRequested(_ReferralEvent):
    """The operator asks for a referral's personal details to be erased (`hub erase`)."""

    EVENT_TYPE: ClassVar[str] = "ErasureRequested"
    SCHEMA_VERSION: ClassVar[int] = 1

    scope: ErasureScope = Field(description="This referral, or the person across referrals.")
    reason: ShortText = Field(
        description="Why, as the operator gave it (e.g. a request's reference). Kept for "
        "ever in the audit trail: no personal data."
    )
    requested_by: ShortText = Field(description="Who asked: the operator's user name.")
    requested_at: AwareDatetime = Field(description="When.")


class PersonalDataErased(_ReferralEvent):
    """Intake destroyed the referral's data keys and its own copy of the person's details:
    every sealed copy of them, on the log or in a service's tables, is unreadable now."""

    EVENT_TYPE: ClassVar[str] = "PersonalDataErased"
    SCHEMA_VERSION: ClassVar[int] = 1

    scope: ErasureScope = Field(description="What the erasure was asked for.")
    reason: ShortText = Field(description="Why (the request's reason).")
    requested_by: ShortText = Field(description="Who asked.")
    erased_at: AwareDatetime = Field(description="When the keys were destroyed.")
    keys_destroyed: int = Field(ge=0, description="How many data keys were destroyed.")
    with_referrals: list[UUID] = Field(
        default_factory=list,
        exclude_if=lambda value: not value,
        description="For a person's erasure, on the record of the referral the request "
        "named: the other referrals erased with it (each has its own record).",
    )
    cause_referral_id: UUID | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="For a person's erasure: the referral the request named; null otherwise.",
    )


ERASURE_EVENT_TYPES = frozenset({ErasureRequested.EVENT_TYPE, PersonalDataErased.EVENT_TYPE})
