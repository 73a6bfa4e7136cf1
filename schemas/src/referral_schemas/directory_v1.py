"""The directory of routing areas and support agencies, schema version 1.

Published in full on ``hub.directory`` (key ``"directory"``) every time it changes; routing
reads the newest version. An area is a set of postcode districts of one force; an agency
serves one or more areas with the services it offers, up to its capacity.
"""

import re
from collections import Counter
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from referral_schemas.envelope import EventData
from referral_schemas.intelligence_v1 import UniqueList
from referral_schemas.text import AgencyCode, AreaCode, ForceCode, PostcodeDistrict, ShortText
from referral_schemas.topics import DIRECTORY, DIRECTORY_KEY

MAX_ACCEPTANCE_DEADLINE = timedelta(days=30)

# Exact units only: days, hours, minutes, seconds (years, months and weeks are refused).
_DURATION = re.compile(
    r"P(?=[0-9T])(?:(?P<days>[0-9]{1,5})D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]{1,6})H)?(?:(?P<minutes>[0-9]{1,8})M)?"
    r"(?:(?P<seconds>[0-9]{1,10}(?:\.[0-9]{1,6})?)S)?)?"
)


class ServiceKind(StrEnum):
    """A kind of support an agency offers."""

    VULNERABILITY_VISIT = "vulnerability_visit"
    SUBSTANCE_RECOVERY = "substance_recovery"
    YOUTH_SUPPORT = "youth_support"
    HOUSING_SUPPORT = "housing_support"


def _parse_duration(value: object) -> object:
    """ISO 8601 text -> ``timedelta`` (so strict JSON validation accepts it); else unchanged."""
    if not isinstance(value, str):
        return value
    match = _DURATION.fullmatch(value)
    if match is None:
        raise PydanticCustomError(
            "duration_format",
            "Duration should be ISO 8601 in days, hours, minutes and seconds, e.g. 'PT48H'",
        )
    parts = {unit: float(amount) for unit, amount in match.groupdict("0").items()}
    return timedelta(**parts)


def iso_duration(value: timedelta) -> str:
    """ISO 8601 duration in hours, minutes and seconds: 48 hours -> ``"PT48H"``."""
    micros = value // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if fraction:
        text += f"{seconds}.{fraction:06d}".rstrip("0") + "S"
    elif seconds or not text:
        text += f"{seconds}S"
    return f"{sign}PT{text}"


IsoDuration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration),
    PlainSerializer(iso_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "duration",
            "description": "ISO 8601 duration in days, hours, minutes and seconds (no years, "
            "months or weeks); written in hours, e.g. 'PT48H'.",
            "examples": ["PT48H"],
        }
    ),
]
"""A ``timedelta`` that is an ISO 8601 duration in JSON, always written in hours: ``"PT48H"``."""


class Area(BaseModel):
    """A routing area: the postcode districts of one force that agencies are chosen for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: AreaCode = Field(description="The area's code, e.g. 'barrow'.")
    name: ShortText = Field(description="The area's name, e.g. 'Barrow-in-Furness'.")
    force: ForceCode = Field(description="The police force the area lies in, e.g. 'cumbria'.")
    postcode_districts: UniqueList[PostcodeDistrict] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Postcode districts of the area, e.g. 'LA14'; at least one, no duplicates, "
        "none in another area.",
    )


class Agency(BaseModel):
    """A support agency (or one team of it) that takes referrals in some areas."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: AgencyCode = Field(description="The agency's code, e.g. 'twc-barrow'.")
    name: ShortText = Field(description="The agency's name, e.g. 'The Well Communities'.")
    areas: UniqueList[AreaCode] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Codes of the areas it serves; at least one, each an area of the directory.",
    )
    services: UniqueList[ServiceKind] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Kinds of support it offers; at least one, no duplicates.",
    )
    capacity: int = Field(ge=0, description="Open referrals it can hold at once.")
    acceptance_deadline: IsoDuration = Field(
        gt=timedelta(0),
        le=MAX_ACCEPTANCE_DEADLINE,
        description="How long it has to accept or decline a referral routed to it; more than "
        "zero, at most 30 days, e.g. 'PT48H'.",
    )
    active: bool = Field(default=True, description="Whether routing may choose it.")

    # serialize_event dumps with serialize_as_any=True, which (pydantic 2.14) skips serializers
    # attached through Annotated; a field serializer still applies.
    @field_serializer("acceptance_deadline", when_used="json")
    def _deadline_in_hours(self, value: timedelta) -> str:
        return iso_duration(value)


def _duplicate_error(what: str) -> PydanticCustomError:
    return PydanticCustomError("duplicate_code", "two {what} share a code", {"what": what})


class DirectoryPublished(EventData):
    """A new version of the directory of areas and agencies, in full."""

    EVENT_TYPE: ClassVar[str] = "DirectoryPublished"
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = DIRECTORY

    version: int = Field(ge=1, description="The directory's version: 1, then one more each time.")
    published_at: AwareDatetime = Field(description="When this version was published.")
    published_by: ShortText = Field(description="Who published it, e.g. 'user:hub-0042'.")
    areas: list[Area] = Field(
        min_length=1,
        description="Every routing area; at least one, codes and postcode districts unique.",
    )
    agencies: list[Agency] = Field(
        description="Every agency, active or not; codes unique, areas among those above."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len({area.code for area in self.areas}) != len(self.areas):
            raise _duplicate_error("areas")
        if len({agency.code for agency in self.agencies}) != len(self.agencies):
            raise _duplicate_error("agencies")
        counts = Counter(district for area in self.areas for district in area.postcode_districts)
        if any(count > 1 for count in counts.values()):
            raise PydanticCustomError(
                "district_in_two_areas", "a postcode district belongs to two areas"
            )
        known = {area.code for area in self.areas}
        for index, agency in enumerate(self.agencies):
            if not set(agency.areas) <= known:
                raise PydanticCustomError(
                    "unknown_area",
                    "agencies[{index}] names an area the directory does not define",
                    {"index": index},
                )
        return self

    def area_for_district(self, district: str) -> Area | None:
        """The area a postcode district (e.g. ``"LA14"``, upper case) belongs to, if any."""
        return next((area for area in self.areas if district in area.postcode_districts), None)

    def agency(self, code: str) -> Agency | None:
        """The agency with this code, if the directory has it."""
        return next((agency for agency in self.agencies if agency.code == code), None)

    def kafka_key(self) -> str:
        return DIRECTORY_KEY
