"""Referral lifecycle events produced by the hub, schema version 1.

Published on ``referral.events``, keyed by the referral id. These events reach support
agencies, so they are minimised: they NEVER carry the intelligence narrative, its source
reference or its grading (tests check the JSON schemas at every depth).
"""

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from referral_schemas.envelope import EventData
from referral_schemas.intelligence_v1 import (
    Indicator,
    UniqueList,
    VisitorSafetyMarker,
    WithdrawalReason,
)
from referral_schemas.sealed import SealedPersonal
from referral_schemas.text import ForceCode, IntelligenceRef, ShortText
from referral_schemas.topics import REFERRAL_EVENTS

_RANKS = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class RiskLevel(StrEnum):
    """How urgent a referral is. Compare with :attr:`rank`, never with ``<`` on the text."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical: ``max(levels, key=lambda r: r.rank)``."""
        return _RANKS[self.value]


class LinkBasis(StrEnum):
    """Why new intelligence was linked to an open referral instead of opening another."""

    SAME_PERSON = "same_person"
    SAME_ADDRESS = "same_address"
    SAME_PERSON_AND_ADDRESS = "same_person_and_address"


class CancellationReason(StrEnum):
    """Why an open referral was cancelled."""

    INTELLIGENCE_WITHDRAWN = "intelligence_withdrawn"
    DUPLICATE = "duplicate"
    MOVED_AWAY = "moved_away"
    NO_LONGER_REQUIRED = "no_longer_required"


class ReferralOpened(EventData):
    """Intake turned intelligence into a minimised referral for a support agency.

    Version 2: the person and the address travel sealed (``personal``), never in clear."""

    EVENT_TYPE: ClassVar[str] = "ReferralOpened"
    SCHEMA_VERSION: ClassVar[int] = 2
    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The referral's id; also the Kafka key.")
    force: ForceCode = Field(description="Force whose intelligence opened the referral.")
    intelligence_ref: IntelligenceRef = Field(description="That intelligence's reference.")
    isa_version: ShortText = Field(
        description="Version of the information-sharing agreement the minimisation followed."
    )
    opened_at: AwareDatetime = Field(description="When the referral was opened.")
    risk_level: RiskLevel = Field(description="Triage risk level.")
    reason_categories: UniqueList[Indicator] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Why the person is referred; at least one, no duplicates.",
    )
    personal: SealedPersonal = Field(
        description="The person to visit and where (PersonalDetails), sealed under a data key "
        "of this referral."
    )
    postcode_district: str = Field(
        pattern=r"^[A-Z]{1,2}[0-9][A-Z0-9]?$",
        description="Outward code of the address's postcode, e.g. 'LA14'; used for routing.",
    )
    visitor_safety: UniqueList[VisitorSafetyMarker] = Field(
        default_factory=list,
        json_schema_extra={"uniqueItems": True},
        description="Risks to a visiting support worker; no duplicates.",
    )
    previous_referral_id: UUID | None = Field(
        default=None,
        exclude_if=lambda value: value is None,  # additive: v1 messages without it are unchanged
        description="An earlier, ended referral about the same person or address, so the "
        "agency sees the history; null when there is none.",
    )

    def kafka_key(self) -> str:
        return str(self.referral_id)


class ReferralLinked(EventData):
    """New intelligence about the same person or address joined an open referral."""

    EVENT_TYPE: ClassVar[str] = "ReferralLinked"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The open referral the intelligence joined.")
    force: ForceCode = Field(description="Force of the new intelligence.")
    intelligence_ref: IntelligenceRef = Field(description="Reference of the new intelligence.")
    link_basis: LinkBasis = Field(description="What the new intelligence has in common.")
    linked_at: AwareDatetime = Field(description="When it was linked.")
    risk_level: RiskLevel = Field(description="The referral's risk level after the link.")
    reason_categories: UniqueList[Indicator] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="All reason categories after the link (union).",
    )
    visitor_safety: UniqueList[VisitorSafetyMarker] = Field(
        default_factory=list,
        json_schema_extra={"uniqueItems": True},
        description="All visitor-safety markers after the link (union).",
    )

    def kafka_key(self) -> str:
        return str(self.referral_id)


class ReferralCancelled(EventData):
    """An open referral was cancelled, e.g. because its intelligence was withdrawn."""

    EVENT_TYPE: ClassVar[str] = "ReferralCancelled"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The cancelled referral.")
    reason: CancellationReason = Field(description="Why it was cancelled.")
    cancelled_at: AwareDatetime = Field(description="When it was cancelled.")
    withdrawn_intelligence_refs: list[IntelligenceRef] = Field(
        default_factory=list,
        description="References of the withdrawn intelligence that led to the cancellation, "
        "if any.",
    )

    def kafka_key(self) -> str:
        return str(self.referral_id)


def cancellation_reason_for(withdrawal: WithdrawalReason) -> CancellationReason:
    """The cancellation a withdrawal of a referral's last intelligence leads to."""
    if withdrawal is WithdrawalReason.SUBJECT_MOVED_AWAY:
        return CancellationReason.MOVED_AWAY
    if withdrawal is WithdrawalReason.DUPLICATE_SUBMISSION:
        return CancellationReason.DUPLICATE
    return CancellationReason.INTELLIGENCE_WITHDRAWN


class CancellationRequested(EventData):
    """Intake asks for a referral to be cancelled (all its intelligence was withdrawn).

    A proposal, not a decision: casework, the owner of cancellation, answers with
    ``ReferralCancelled`` unless the referral has already ended."""

    EVENT_TYPE: ClassVar[str] = "CancellationRequested"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The referral to cancel.")
    reason: CancellationReason = Field(description="Why it should be cancelled.")
    withdrawal_reason: WithdrawalReason | None = Field(
        default=None, description="The force's reason for withdrawing, when that is the cause."
    )
    withdrawn_intelligence_refs: list[IntelligenceRef] = Field(
        default_factory=list, description="References of the withdrawn intelligence, if any."
    )
    requested_at: AwareDatetime = Field(description="When intake asked.")

    def kafka_key(self) -> str:
        return str(self.referral_id)


class ReferralAmended(EventData):
    """Some of a referral's intelligence was withdrawn; the referral was recomputed from
    the intelligence that remains (subject, address, risk, reasons, visitor safety).

    Version 2: the person and the address travel sealed (``personal``), never in clear."""

    EVENT_TYPE: ClassVar[str] = "ReferralAmended"
    SCHEMA_VERSION: ClassVar[int] = 2
    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The amended referral.")
    withdrawn_force: ForceCode = Field(description="Force of the withdrawn intelligence.")
    withdrawn_intelligence_ref: IntelligenceRef = Field(
        description="Reference of the withdrawn intelligence."
    )
    withdrawal_reason: WithdrawalReason = Field(description="The force's reason.")
    amended_at: AwareDatetime = Field(description="When the referral was recomputed.")
    risk_level: RiskLevel = Field(description="Risk level from the remaining intelligence.")
    reason_categories: UniqueList[Indicator] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Reason categories of the remaining intelligence (union).",
    )
    visitor_safety: UniqueList[VisitorSafetyMarker] = Field(
        default_factory=list,
        json_schema_extra={"uniqueItems": True},
        description="Visitor-safety markers of the remaining intelligence (union).",
    )
    personal: SealedPersonal = Field(
        description="The person to visit and where, per what remains (PersonalDetails), "
        "sealed under a data key of this referral."
    )
    postcode_district: str = Field(
        pattern=r"^[A-Z]{1,2}[0-9][A-Z0-9]?$",
        description="Outward code of the address's postcode, e.g. 'LA14'.",
    )

    def kafka_key(self) -> str:
        return str(self.referral_id)
