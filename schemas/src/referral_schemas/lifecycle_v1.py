"""Referral routing and casework events, schema version 1.

Published on ``referral.events``, keyed by the referral id, after ``ReferralOpened``. Routing
events record which agency holds a referral; casework events record what that agency did. They
reach support agencies, so they carry codes, ids and times only: no personal data and no free
text (tests check the JSON schemas).
"""

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from referral_schemas.envelope import EventData
from referral_schemas.text import AgencyCode, AreaCode, ShortText, WorkerId
from referral_schemas.topics import REFERRAL_EVENTS


class DeclineReason(StrEnum):
    """Why an agency declined a referral routed to it."""

    NO_CAPACITY = "no_capacity"
    OUTSIDE_SERVICE_SCOPE = "outside_service_scope"
    SAFETY_CONCERNS = "safety_concerns"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    ALREADY_SUPPORTED_ELSEWHERE = "already_supported_elsewhere"


class EscalationReason(StrEnum):
    """Why routing gave up and handed a referral to a person at the hub."""

    NO_AGENCY_COVERS_AREA = "no_agency_covers_area"
    NO_AGENCY_WITH_CAPACITY = "no_agency_with_capacity"
    ALL_AGENCIES_DECLINED = "all_agencies_declined"
    ACCEPTANCE_DEADLINE_MISSED = "acceptance_deadline_missed"


class RerouteCause(StrEnum):
    """Why a referral moved from one agency to another."""

    DECLINED = "declined"
    ACCEPTANCE_DEADLINE_MISSED = "acceptance_deadline_missed"


class ContactMethod(StrEnum):
    """How a worker tried to reach the person."""

    PHONE = "phone"
    TEXT_MESSAGE = "text_message"
    LETTER = "letter"
    IN_PERSON = "in_person"


class ContactResult(StrEnum):
    """What came of a contact attempt."""

    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    SPOKE_TO_PERSON = "spoke_to_person"
    WRONG_NUMBER = "wrong_number"


class VisitResult(StrEnum):
    """Why a visit did not happen as planned."""

    NO_ANSWER = "no_answer"
    REFUSED_ENTRY = "refused_entry"
    PERSON_NOT_PRESENT = "person_not_present"
    NOT_SAFE_TO_PROCEED = "not_safe_to_proceed"


class EngagementLevel(StrEnum):
    """How far the person takes up the support offered."""

    ENGAGED = "engaged"
    PARTIALLY_ENGAGED = "partially_engaged"
    DECLINED_SUPPORT = "declined_support"


class HoldReason(StrEnum):
    """Why the police asked for casework on a referral to pause."""

    LIVE_POLICE_OPERATION = "live_police_operation"
    SAFEGUARDING_STRATEGY_MEETING = "safeguarding_strategy_meeting"
    OTHER_POLICE_REQUEST = "other_police_request"


class Outcome(StrEnum):
    """How a referral ended (closed set; also reported back to the police)."""

    ENGAGED_WITH_SUPPORT = "engaged_with_support"
    SIGNPOSTED = "signposted"
    DECLINED_SUPPORT = "declined_support"
    NO_CONTACT_AFTER_ATTEMPTS = "no_contact_after_attempts"
    SAFEGUARDING_ESCALATED = "safeguarding_escalated"
    MOVED_OUT_OF_AREA = "moved_out_of_area"
    IN_CUSTODY = "in_custody"
    INTELLIGENCE_WITHDRAWN = "intelligence_withdrawn"


_BY = "User id of the agency worker who acted."
_ISA = (
    "Version of the information-sharing agreement under which the minimised referral is "
    "disclosed to the agency."
)


class _ReferralEvent(EventData):
    """Base of the events here: on ``referral.events``, keyed by the referral id."""

    TOPIC: ClassVar[str] = REFERRAL_EVENTS

    referral_id: UUID = Field(description="The referral; also the Kafka key.")

    def kafka_key(self) -> str:
        return str(self.referral_id)


class ReferralRouted(_ReferralEvent):
    """Routing chose an agency for a new referral and disclosed it to that agency."""

    EVENT_TYPE: ClassVar[str] = "ReferralRouted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency the referral was routed to.")
    area: AreaCode = Field(description="The area of the referral's postcode district.")
    due_by: AwareDatetime = Field(description="The acceptance deadline: accept or decline by.")
    routed_at: AwareDatetime = Field(description="When it was routed.")
    directory_version: int = Field(ge=1, description="Directory version routing used.")
    isa_version: ShortText = Field(description=_ISA)


class ReferralRerouted(_ReferralEvent):
    """Routing moved a referral to another agency after a decline or a missed deadline."""

    EVENT_TYPE: ClassVar[str] = "ReferralRerouted"
    SCHEMA_VERSION: ClassVar[int] = 1

    from_agency: AgencyCode = Field(description="The agency that held the referral.")
    to_agency: AgencyCode = Field(description="The agency that holds it now.")
    area: AreaCode = Field(description="The area of the referral's postcode district.")
    cause: RerouteCause = Field(description="Why it moved.")
    due_by: AwareDatetime = Field(description="The new agency's acceptance deadline.")
    rerouted_at: AwareDatetime = Field(description="When it was rerouted.")
    directory_version: int = Field(ge=1, description="Directory version routing used.")
    isa_version: ShortText = Field(description=_ISA)


class ReferralEscalated(_ReferralEvent):
    """Routing found no agency for a referral; a person at the hub must act."""

    EVENT_TYPE: ClassVar[str] = "ReferralEscalated"
    SCHEMA_VERSION: ClassVar[int] = 1

    reason: EscalationReason = Field(description="Why routing gave up.")
    area: AreaCode | None = Field(
        description="The area of the referral's postcode district; null if no area has it."
    )
    escalated_at: AwareDatetime = Field(description="When it was escalated.")


class SlaBreached(_ReferralEvent):
    """An agency neither accepted nor declined a referral by its acceptance deadline."""

    EVENT_TYPE: ClassVar[str] = "SlaBreached"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency that missed the deadline.")
    due_by: AwareDatetime = Field(description="The deadline it missed.")
    breached_at: AwareDatetime = Field(description="When the breach was detected.")


class ReferralAccepted(_ReferralEvent):
    """The agency accepted the referral routed to it."""

    EVENT_TYPE: ClassVar[str] = "ReferralAccepted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The accepting agency.")
    accepted_at: AwareDatetime = Field(description="When it was accepted.")
    by: WorkerId = Field(description=_BY)


class ReferralDeclined(_ReferralEvent):
    """The agency declined the referral routed to it."""

    EVENT_TYPE: ClassVar[str] = "ReferralDeclined"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The declining agency.")
    reason: DeclineReason = Field(description="Why it declined.")
    declined_at: AwareDatetime = Field(description="When it declined.")
    by: WorkerId = Field(description=_BY)


class ReferralAssigned(_ReferralEvent):
    """The agency assigned the referral to one of its workers."""

    EVENT_TYPE: ClassVar[str] = "ReferralAssigned"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency holding the referral.")
    worker: WorkerId = Field(description="User id of the worker now responsible.")
    assigned_at: AwareDatetime = Field(description="When it was assigned.")
    by: WorkerId = Field(description=_BY)


class ContactAttempted(_ReferralEvent):
    """A worker tried to contact the person other than by visiting."""

    EVENT_TYPE: ClassVar[str] = "ContactAttempted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency holding the referral.")
    method: ContactMethod = Field(description="How contact was tried.")
    result: ContactResult = Field(description="What came of it.")
    attempted_at: AwareDatetime = Field(description="When contact was tried.")
    by: WorkerId = Field(description=_BY)


class VisitAttempted(_ReferralEvent):
    """A worker went to visit the person, but the visit did not happen as planned."""

    EVENT_TYPE: ClassVar[str] = "VisitAttempted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency holding the referral.")
    result: VisitResult = Field(description="Why the visit did not happen.")
    attempted_at: AwareDatetime = Field(description="When the visit was tried.")
    by: WorkerId = Field(description=_BY)


class VisitCompleted(_ReferralEvent):
    """A worker visited the person."""

    EVENT_TYPE: ClassVar[str] = "VisitCompleted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency holding the referral.")
    visited_at: AwareDatetime = Field(description="When the visit took place.")
    by: WorkerId = Field(description=_BY)


class EngagementRecorded(_ReferralEvent):
    """A worker recorded how far the person takes up the support offered."""

    EVENT_TYPE: ClassVar[str] = "EngagementRecorded"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency holding the referral.")
    level: EngagementLevel = Field(description="How far the person engages.")
    recorded_at: AwareDatetime = Field(description="When it was recorded.")
    by: WorkerId = Field(description=_BY)


class ReferralHeld(_ReferralEvent):
    """The police asked for casework on the referral to pause."""

    EVENT_TYPE: ClassVar[str] = "ReferralHeld"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode | None = Field(
        description="The agency holding the referral; null if none holds it."
    )
    reason: HoldReason = Field(description="Why it is held.")
    held_at: AwareDatetime = Field(description="When it was held.")
    by: WorkerId = Field(description="User id of the police coordinator who held it.")


class ReferralResumed(_ReferralEvent):
    """The police lifted a hold; casework on the referral may go on."""

    EVENT_TYPE: ClassVar[str] = "ReferralResumed"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode | None = Field(
        description="The agency holding the referral; null if none holds it."
    )
    resumed_at: AwareDatetime = Field(description="When the hold was lifted.")
    by: WorkerId = Field(description="User id of the police coordinator who lifted it.")


class ReferralCompleted(_ReferralEvent):
    """The agency finished its work on the referral, with an outcome."""

    EVENT_TYPE: ClassVar[str] = "ReferralCompleted"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency that did the work.")
    outcome: Outcome = Field(description="How the work ended.")
    completed_at: AwareDatetime = Field(description="When the work was finished.")
    by: WorkerId = Field(description=_BY)


class ReferralClosed(_ReferralEvent):
    """The referral was closed for good, with its final outcome."""

    EVENT_TYPE: ClassVar[str] = "ReferralClosed"
    SCHEMA_VERSION: ClassVar[int] = 1

    agency: AgencyCode = Field(description="The agency that held the referral.")
    outcome: Outcome = Field(description="The final outcome, reported back to the police.")
    closed_at: AwareDatetime = Field(description="When it was closed.")
    by: WorkerId = Field(description="User id of the person who closed it.")
