"""Inbound intelligence from police systems, schema version 1.

Published by police systems on ``police.intelligence``, keyed ``"<force>:<intelligence_ref>"``.
Grading follows the national 3x5x2 model: source evaluation, intelligence assessment and
handling code.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Self, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from referral_schemas.envelope import EventData
from referral_schemas.text import (
    ForceCode,
    FreeText,
    IntelligenceRef,
    PhoneNumber,
    Postcode,
    ShortText,
)
from referral_schemas.topics import POLICE_INTELLIGENCE, intelligence_key

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class Indicator(StrEnum):
    """What the intelligence indicates; also the referral's reason categories."""

    CUCKOOING = "cuckooing"
    CHILD_CRIMINAL_EXPLOITATION = "child_criminal_exploitation"
    ADULT_CRIMINAL_EXPLOITATION = "adult_criminal_exploitation"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    DEBT_BONDAGE = "debt_bondage"
    DRUG_RUNNING = "drug_running"
    DRUG_DEALING_FROM_ADDRESS = "drug_dealing_from_address"
    WEAPONS = "weapons"
    MISSING_FROM_HOME = "missing_from_home"
    MODERN_SLAVERY = "modern_slavery"


class VisitorSafetyMarker(StrEnum):
    """Something a visiting support worker must know before going to the address."""

    AGGRESSIVE_DOGS = "aggressive_dogs"
    WEAPONS_AT_ADDRESS = "weapons_at_address"
    VIOLENCE_TOWARDS_STAFF = "violence_towards_staff"
    GANG_MEMBERS_FREQUENT_ADDRESS = "gang_members_frequent_address"
    DRUG_USE_AT_ADDRESS = "drug_use_at_address"
    NEEDLES_AT_ADDRESS = "needles_at_address"
    DO_NOT_VISIT_ALONE = "do_not_visit_alone"


class SourceEvaluation(StrEnum):
    """3x5x2 source evaluation: 1 reliable, 2 untested, 3 not reliable."""

    RELIABLE = "1"
    UNTESTED = "2"
    NOT_RELIABLE = "3"


class IntelligenceAssessment(StrEnum):
    """3x5x2 intelligence assessment, A (known directly to the source) to E (suspected false)."""

    KNOWN_DIRECTLY = "A"
    KNOWN_INDIRECTLY_CORROBORATED = "B"
    KNOWN_INDIRECTLY = "C"
    NOT_KNOWN = "D"
    SUSPECTED_FALSE = "E"


class HandlingCode(StrEnum):
    """3x5x2 handling code: P lawful sharing permitted, C sharing with conditions."""

    PERMITTED = "P"
    WITH_CONDITIONS = "C"


class WithdrawalReason(StrEnum):
    """Why a force withdraws intelligence it submitted."""

    DISCREDITED = "discredited"
    DUPLICATE_SUBMISSION = "duplicate_submission"
    OPERATIONAL_SENSITIVITY = "operational_sensitivity"
    SUBMITTED_IN_ERROR = "submitted_in_error"
    SUBJECT_MOVED_AWAY = "subject_moved_away"


def _not_before_1900(value: date) -> date:
    if value < EARLIEST_BIRTH_DATE:
        raise PydanticCustomError("date_too_early", "Date should be on or after 1900-01-01")
    return value


BirthDate = Annotated[date, AfterValidator(_not_before_1900)]
"""A date of birth, not before 1900-01-01."""

ItemT = TypeVar("ItemT")


def _no_duplicates(items: list[ItemT]) -> list[ItemT]:
    if len(set(items)) != len(items):
        raise PydanticCustomError("duplicate_items", "List should not contain duplicate items")
    return items


UniqueList = Annotated[list[ItemT], AfterValidator(_no_duplicates)]
"""A list whose items are all different."""


class Grading(BaseModel):
    """The 3x5x2 grading of one piece of intelligence. Never leaves the police side."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_evaluation: SourceEvaluation = Field(description="Source evaluation: 1, 2 or 3.")
    intelligence_assessment: IntelligenceAssessment = Field(
        description="Intelligence assessment: A to E."
    )
    handling_code: HandlingCode = Field(description="Handling code: P or C.")
    handling_conditions: ShortText | None = Field(
        default=None,
        description="The conditions of sharing; required when handling_code is C, "
        "absent when it is P.",
    )

    @model_validator(mode="after")
    def _conditions_iff_code_c(self) -> Self:
        if self.handling_code is HandlingCode.WITH_CONDITIONS and self.handling_conditions is None:
            raise PydanticCustomError(
                "missing", "handling_conditions is required when handling_code is C"
            )
        if self.handling_code is HandlingCode.PERMITTED and self.handling_conditions is not None:
            raise PydanticCustomError(
                "conditions_not_allowed", "handling_conditions is only allowed with handling_code C"
            )
        return self


class Person(BaseModel):
    """The person the intelligence is about (fictional in every sample)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: ShortText = Field(description="Given name(s).")
    family_name: ShortText = Field(description="Family name.")
    date_of_birth: BirthDate | None = Field(
        default=None, description="Date of birth if known; not before 1900-01-01."
    )
    aliases: list[ShortText] = Field(
        default_factory=list, max_length=10, description="Other names the person is known by."
    )
    phone: PhoneNumber | None = Field(default=None, description="Contact phone number if known.")


class Address(BaseModel):
    """A UK postal address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line1: ShortText = Field(description="First line, e.g. flat and street.")
    line2: ShortText | None = Field(default=None, description="Second line, if any.")
    town: ShortText = Field(description="Post town, e.g. 'Barrow-in-Furness'.")
    postcode: Postcode = Field(description="Postcode, normalised, e.g. 'LA14 1AB'.")


class IntelligenceSubmitted(EventData):
    """A force shares intelligence that someone may be exploited at an address."""

    EVENT_TYPE: ClassVar[str] = "IntelligenceSubmitted"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = POLICE_INTELLIGENCE

    force: ForceCode = Field(description="Submitting force's code, e.g. 'cumbria'.")
    intelligence_ref: IntelligenceRef = Field(
        description="The force's reference for this intelligence; unique within the force."
    )
    recorded_at: AwareDatetime = Field(description="When the force recorded the intelligence.")
    subject: Person = Field(description="The person the intelligence is about.")
    address: Address = Field(description="The address the intelligence is about.")
    indicators: UniqueList[Indicator] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="What the intelligence indicates; at least one, no duplicates.",
    )
    county_line: ShortText | None = Field(
        default=None, description="Name of the county line involved, if known, e.g. 'DANNY'."
    )
    grading: Grading = Field(description="3x5x2 grading. Police only: never shared onwards.")
    narrative: FreeText = Field(
        description="The intelligence text. Police only: never shared onwards."
    )
    source_reference: ShortText = Field(
        description="Reference to the source. Police only: never shared onwards."
    )
    visitor_safety: UniqueList[VisitorSafetyMarker] = Field(
        default_factory=list,
        json_schema_extra={"uniqueItems": True},
        description="Risks to a visiting support worker; no duplicates.",
    )

    @model_validator(mode="after")
    def _born_before_recorded(self) -> Self:
        born = self.subject.date_of_birth
        if born is not None and born > self.recorded_at.date():
            raise PydanticCustomError(
                "date_in_future", "subject.date_of_birth should not be after recorded_at"
            )
        return self

    def kafka_key(self) -> str:
        return intelligence_key(self.force, self.intelligence_ref)


class IntelligenceWithdrawn(EventData):
    """A force withdraws intelligence it submitted earlier."""

    EVENT_TYPE: ClassVar[str] = "IntelligenceWithdrawn"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = POLICE_INTELLIGENCE

    force: ForceCode = Field(description="Force that submitted the intelligence.")
    intelligence_ref: IntelligenceRef = Field(description="The withdrawn intelligence's ref.")
    reason: WithdrawalReason = Field(description="Why it is withdrawn.")
    withdrawn_at: AwareDatetime = Field(description="When the force withdrew it.")

    def kafka_key(self) -> str:
        return intelligence_key(self.force, self.intelligence_ref)
