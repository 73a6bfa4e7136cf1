"""Decisions that settle a competing question about a referral, schema version 1.

Published on ``referral.events``, keyed by the referral id, by casework: the single owner of
every decision that competes at an agency (acceptance, decline, deadline expiry,
cancellation) and of the police coordinator's resolution of an escalation. Routing and
intake only *propose* (``SlaBreached``, ``CancellationRequested``); the events here are the
owner's answers. Codes, ids and times only: no personal data, no free text.
"""

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from referral_schemas.lifecycle_v1 import Outcome, _ReferralEvent
from referral_schemas.text import AgencyCode, WorkerId


class DirectionReason(StrEnum):
    """Why a police coordinator offered an escalated referral to a named agency, over the
    directory's capacity and coverage."""

    CAPACITY_AGREED_WITH_AGENCY = "capacity_agreed_with_agency"
    URGENT_SAFEGUARDING_RISK = "urgent_safeguarding_risk"
    ONLY_SUITABLE_AGENCY = "only_suitable_agency"
    AGENCY_ALREADY_KNOWS_PERSON = "agency_already_knows_person"


class OfferExpired(_ReferralEvent):
    """The agency let the acceptance deadline pass without accepting or declining.

    Decided by casework when routing's timer proposes it (``SlaBreached``) and the offer is
    still open at that moment, so it never contradicts an acceptance or a decline."""

    EVENT_TYPE: ClassVar[str] = "OfferExpired"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency whose offer expired.")
    due_by: AwareDatetime = Field(description="The acceptance deadline that passed.")
    expired_at: AwareDatetime = Field(description="When the expiry was decided.")


class ReferralDirected(_ReferralEvent):
    """A police coordinator resolved an escalation by offering the referral to a named
    agency, overriding the directory's capacity; routing then offers it to that agency."""

    EVENT_TYPE: ClassVar[str] = "ReferralDirected"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency the coordinator chose.")
    reason: DirectionReason = Field(description="Why the directory's choice was overridden.")
    directed_at: AwareDatetime = Field(description="When the coordinator decided.")
    by: WorkerId = Field(description="User id of the police coordinator who decided.")


class EscalationClosed(_ReferralEvent):
    """A police coordinator closed a referral that no agency had accepted, with an outcome
    (e.g. safeguarding_escalated when police took it on themselves)."""

    EVENT_TYPE: ClassVar[str] = "EscalationClosed"
    SCHEMA_VERSION: ClassVar[int] = 1

    outcome: Outcome = Field(description="The final outcome, reported back to the police.")
    closed_at: AwareDatetime = Field(description="When it was closed.")
    by: WorkerId = Field(description="User id of the police coordinator who closed it.")
