"""Feedback to police systems, schema version 1.

Published by the hub on ``police.outcomes``, keyed by the referral id, once a referral is
closed. It tells the force what became of its intelligence and nothing of the support work
itself: no personal data, no casework detail, no free text.
"""

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from referral_schemas.envelope import EventData
from referral_schemas.intelligence_v1 import UniqueList
from referral_schemas.lifecycle_v1 import Outcome
from referral_schemas.text import AgencyCode, ForceCode, IntelligenceRef
from referral_schemas.topics import POLICE_OUTCOMES


class OutcomeReported(EventData):
    """The outcome of a closed referral, reported to the force whose intelligence opened it."""

    EVENT_TYPE: ClassVar[str] = "OutcomeReported"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = POLICE_OUTCOMES

    referral_id: UUID = Field(description="The closed referral; also the Kafka key.")
    force: ForceCode = Field(description="The force the outcome is reported to.")
    intelligence_refs: UniqueList[IntelligenceRef] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="The force's references of every intelligence in the referral; at least "
        "one, no duplicates.",
    )
    outcome: Outcome = Field(description="How the referral ended.")
    agency: AgencyCode | None = Field(
        description="The agency that last held the referral; null if none ever did."
    )
    opened_at: AwareDatetime = Field(description="When the referral was opened.")
    first_contact_at: AwareDatetime | None = Field(
        description="When an agency first reached the person; null if it never did."
    )
    closed_at: AwareDatetime = Field(description="When the referral was closed.")
    reported_at: AwareDatetime = Field(description="When this report was made.")

    def kafka_key(self) -> str:
        return str(self.referral_id)
