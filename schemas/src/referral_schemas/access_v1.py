"""Consultation records, schema version 1.

Published by the hub on ``hub.access``, keyed by the referral id, each time a person opens a
referral: the record of who saw what and why (logging under DPA 2018 s.62). It names the
referral and the user, never the referral's content.
"""

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from referral_schemas.envelope import EventData
from referral_schemas.text import AgencyCode, ShortText, WorkerId
from referral_schemas.topics import ACCESS_EVENTS


class ConsultationPurpose(StrEnum):
    """Why a person consulted a referral."""

    QUEUE_REVIEW = "queue_review"
    CASEWORK = "casework"
    SUPERVISION = "supervision"
    AUDIT = "audit"
    POLICE_COORDINATION = "police_coordination"


class ReferralConsulted(EventData):
    """A person opened a referral."""

    EVENT_TYPE: ClassVar[str] = "ReferralConsulted"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ACCESS_EVENTS

    referral_id: UUID = Field(description="The referral consulted; also the Kafka key.")
    user: WorkerId = Field(description="User id of the person who consulted it.")
    agency: AgencyCode | None = Field(
        description="The agency the person acted for; null for hub or police staff."
    )
    role: ShortText = Field(description="The role the person acted in, e.g. 'support-worker'.")
    purpose: ConsultationPurpose = Field(description="Why the person consulted it.")
    consulted_at: AwareDatetime = Field(description="When it was consulted.")
    via: ShortText = Field(
        description="Which service and operation served it, e.g. "
        "'casework-api GET /referrals/{id}'."
    )

    def kafka_key(self) -> str:
        return str(self.referral_id)
