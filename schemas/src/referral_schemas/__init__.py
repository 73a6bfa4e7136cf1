"""referral-hub event contract: envelope, topics, versioned events, golden samples.

Pydantic only; nothing here does I/O at import. Police systems build an envelope with
:func:`make_envelope`, send :func:`serialize_event` bytes to the topic in the payload's
``TOPIC`` with key ``data.kafka_key()``; consumers read with :func:`parse_event`.
"""

from referral_schemas.envelope import DataT, Envelope, EventData, envelope_model, make_envelope
from referral_schemas.intelligence_v1 import (
    Address,
    BirthDate,
    Grading,
    HandlingCode,
    Indicator,
    IntelligenceAssessment,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    Person,
    SourceEvaluation,
    VisitorSafetyMarker,
    WithdrawalReason,
)
from referral_schemas.referral_v1 import (
    CancellationReason,
    LinkBasis,
    ReferralCancelled,
    ReferralLinked,
    ReferralOpened,
    ReferralSubject,
    RiskLevel,
)
from referral_schemas.registry import (
    EVENT_MODELS,
    MAX_EVENT_BYTES,
    EventRejected,
    RejectionReason,
    event_type_of,
    parse_event,
    serialize_event,
)
from referral_schemas.samples import SAMPLE_NAMES, load_sample
from referral_schemas.text import (
    ForceCode,
    FreeText,
    IntelligenceRef,
    PhoneNumber,
    Postcode,
    ShortText,
    postcode_district,
)
from referral_schemas.topics import (
    ACCESS_EVENTS,
    ALL_TOPICS,
    DEAD_LETTER,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
    intelligence_key,
)
from referral_schemas.upcasting import Upcaster, register_upcaster, unregister_upcaster, upcast

__all__ = [
    "ACCESS_EVENTS",
    "ALL_TOPICS",
    "DEAD_LETTER",
    "EVENT_MODELS",
    "MAX_EVENT_BYTES",
    "POLICE_INTELLIGENCE",
    "POLICE_OUTCOMES",
    "REFERRAL_EVENTS",
    "SAMPLE_NAMES",
    "Address",
    "BirthDate",
    "CancellationReason",
    "DataT",
    "Envelope",
    "EventData",
    "EventRejected",
    "ForceCode",
    "FreeText",
    "Grading",
    "HandlingCode",
    "Indicator",
    "IntelligenceAssessment",
    "IntelligenceRef",
    "IntelligenceSubmitted",
    "IntelligenceWithdrawn",
    "LinkBasis",
    "Person",
    "PhoneNumber",
    "Postcode",
    "ReferralCancelled",
    "ReferralLinked",
    "ReferralOpened",
    "ReferralSubject",
    "RejectionReason",
    "RiskLevel",
    "ShortText",
    "SourceEvaluation",
    "Upcaster",
    "VisitorSafetyMarker",
    "WithdrawalReason",
    "envelope_model",
    "event_type_of",
    "intelligence_key",
    "load_sample",
    "make_envelope",
    "parse_event",
    "postcode_district",
    "register_upcaster",
    "serialize_event",
    "unregister_upcaster",
    "upcast",
]
