"""The envelope every event travels in: CloudEvents 1.0, structured JSON mode.

Attribute names follow CloudEvents (lower case, no separators); ``correlationid``,
``causationid``, ``actor``, ``agency`` and ``schemaversion`` are extension attributes.
``traceparent`` and ``tracestate`` are the CloudEvents distributed-tracing extension (W3C
Trace Context): optional, and left out of the JSON when absent, so events written before
they existed read and serialise exactly as before.
"""

from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, cast
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from referral_schemas.text import ShortText


class EventData(BaseModel):
    """Base class of every event payload (the envelope's ``data``).

    Subclasses set ``EVENT_TYPE`` (the envelope's ``type``), ``SCHEMA_VERSION`` (its
    ``schemaversion``) and ``TOPIC`` (the Kafka topic it is published on), and say which
    Kafka key the record takes in :meth:`kafka_key`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    TOPIC: ClassVar[str]

    def kafka_key(self) -> str:
        """The Kafka record key: it decides the partition, so per-thing order holds."""
        raise NotImplementedError


DataT = TypeVar("DataT", bound=EventData)


def _absent(value: object) -> bool:
    """Optional extension attributes are left out of the JSON rather than written as null."""
    return value is None


class Envelope(BaseModel, Generic[DataT]):
    """One event: CloudEvents attributes plus the typed payload in ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = Field(description="CloudEvents specification version.")
    id: UUID = Field(
        description="Unique id of this event; consumers de-duplicate on it, so a resend "
        "of the same event must reuse the same id."
    )
    source: ShortText = Field(
        description="Who produced the event, e.g. 'urn:police:cumbria:records' or "
        "'referral-hub/intake'."
    )
    type: str = Field(
        pattern=r"^[A-Z][A-Za-z0-9]{1,63}$",
        description="The event's name, e.g. 'IntelligenceSubmitted'; with schemaversion it "
        "selects the model of data.",
    )
    schemaversion: int = Field(ge=1, description="Version of the data model, from 1.")
    time: AwareDatetime = Field(
        description="When the thing the event records happened (RFC 3339, with offset)."
    )
    subject: ShortText = Field(
        description="What the event is about: the referral id for referral events, "
        "'<force>:<intelligence_ref>' for intelligence events."
    )
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of data."
    )
    correlationid: UUID = Field(
        description="Id shared by every event of one chain, from the first intelligence on."
    )
    causationid: UUID | None = Field(
        default=None, description="Id of the event that directly caused this one, if any."
    )
    actor: ShortText = Field(
        description="Who caused the event, e.g. 'system:intake' or 'user:<id>'."
    )
    agency: ShortText | None = Field(
        default=None, description="The agency the actor acted for, if any."
    )
    traceparent: str | None = Field(
        default=None,
        pattern=r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        exclude_if=_absent,
        description="W3C Trace Context traceparent of the span that emitted the event "
        "(version-traceid-parentid-flags), so a consumer continues the same trace. Absent "
        "when the producer does not trace.",
    )
    tracestate: str | None = Field(
        default=None,
        max_length=512,
        pattern=r"^[\x20-\x7e]*$",
        exclude_if=_absent,
        description="W3C Trace Context tracestate (vendor-specific trace data) that goes "
        "with traceparent; absent when there is none.",
    )
    data: DataT = Field(description="The event payload; its model is set by type and version.")

    @model_validator(mode="after")
    def _type_matches_data(self) -> Self:
        data: object = self.data
        if isinstance(data, EventData) and (
            self.type != data.EVENT_TYPE or self.schemaversion != data.SCHEMA_VERSION
        ):
            raise PydanticCustomError(
                "type_mismatch", "type and schemaversion do not match the data model"
            )
        return self


def envelope_model(data_model: type[DataT]) -> type[Envelope[DataT]]:
    """The envelope class parametrised with one payload model, e.g. for JSON schemas."""
    return cast(type[Envelope[DataT]], Envelope[data_model])  # type: ignore[valid-type]


def make_envelope(
    data: DataT,
    *,
    id: UUID,
    source: str,
    time: datetime,
    subject: str,
    correlation_id: UUID,
    causation_id: UUID | None,
    actor: str,
    agency: str | None = None,
) -> Envelope[DataT]:
    """Wrap a payload; ``type`` and ``schemaversion`` come from the payload's class.

    Ids and time are passed in (never generated here) so callers stay deterministic.
    Raises ``pydantic.ValidationError`` if an attribute is invalid (e.g. naive ``time``).
    """
    fields: dict[str, Any] = {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": data.EVENT_TYPE,
        "schemaversion": data.SCHEMA_VERSION,
        "time": time,
        "subject": subject,
        "correlationid": correlation_id,
        "causationid": causation_id,
        "actor": actor,
        "agency": agency,
        "data": data,
    }
    return envelope_model(type(data)).model_validate(fields)
