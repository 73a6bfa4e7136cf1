"""Builders of the events insights folds, as intake, routing, casework, police systems and
the directory admin would publish them, for insights' tests (unit, integration, e2e).
tests/unit/test_insights_events.py checks the builders themselves."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from referral_schemas import (
    CancellationReason,
    ContactMethod,
    ContactResult,
    EngagementLevel,
    EngagementRecorded,
    Envelope,
    EventData,
    Indicator,
    Outcome,
    ReferralAccepted,
    ReferralCancelled,
    ReferralClosed,
    ReferralCompleted,
    ReferralOpened,
    ReferralRouted,
    ReferralSubject,
    RiskLevel,
    VisitCompleted,
    make_envelope,
    parse_event,
    serialize_event,
)
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.intelligence_v1 import Address
from referral_schemas.lifecycle_v1 import ContactAttempted
from referral_schemas.topics import (
    DIRECTORY,
    DIRECTORY_KEY,
    POLICE_INTELLIGENCE,
    REFERRAL_EVENTS,
    intelligence_key,
)

from tests.support.directory import directory_envelope
from tests.support.intelligence import submitted, withdrawn
from tests.support.sealing import sealed

AGENCY = "twc-barrow"
FORCE = "cumbria"
# Fictional personal data: tests check that none of it ever appears in figures.
GIVEN_NAME = "Morwenna"
FAMILY_NAME = "Testpersonova"
ADDRESS_LINE = "17 Quillfeather Terrace"


@dataclass(frozen=True)
class Message:
    """One Kafka record as the producing service would send it."""

    topic: str
    key: str
    value: bytes


def at(text: str) -> datetime:
    """``"2024-01-05 10:00"`` as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _referral_message(data: EventData, rid: uuid.UUID, when: datetime, source: str) -> Message:
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source=f"referral-hub/{source}",
        time=when,
        subject=str(rid),
        correlation_id=rid,
        causation_id=None,
        actor=f"system:{source}" if source != "casework" else "user:worker-1",
        agency=AGENCY if source == "casework" else None,
    )
    return Message(REFERRAL_EVENTS, str(rid), serialize_event(envelope))


def opened(rid: uuid.UUID, when: datetime, district: str = "LA14") -> Message:
    data = ReferralOpened(
        referral_id=rid,
        force=FORCE,
        intelligence_ref=f"TEST/{rid.hex[:10].upper()}",
        isa_version="cumbria-1clic-isa-v1",
        opened_at=when,
        risk_level=RiskLevel.HIGH,
        reason_categories=[Indicator.CUCKOOING],
        personal=sealed(
            rid,
            ReferralSubject(given_name=GIVEN_NAME, family_name=FAMILY_NAME, phone=None),
            Address(line1=ADDRESS_LINE, town="Barrow-in-Furness", postcode=f"{district} 9ZZ"),
        ),
        postcode_district=district,
        visitor_safety=[],
    )
    return _referral_message(data, rid, when, "intake")


def routed(rid: uuid.UUID, area: str, when: datetime) -> Message:
    data = ReferralRouted(
        referral_id=rid,
        agency=AGENCY,
        area=area,
        due_by=when,
        routed_at=when,
        directory_version=1,
        isa_version="cumbria-1clic-isa-v1",
    )
    return _referral_message(data, rid, when, "routing")


def accepted(rid: uuid.UUID, when: datetime) -> Message:
    data = ReferralAccepted(referral_id=rid, agency=AGENCY, accepted_at=when, by="worker-1")
    return _referral_message(data, rid, when, "casework")


def contact(rid: uuid.UUID, when: datetime, result: ContactResult) -> Message:
    data = ContactAttempted(
        referral_id=rid,
        agency=AGENCY,
        method=ContactMethod.PHONE,
        result=result,
        attempted_at=when,
        by="worker-1",
    )
    return _referral_message(data, rid, when, "casework")


def visit(rid: uuid.UUID, when: datetime) -> Message:
    data = VisitCompleted(referral_id=rid, agency=AGENCY, visited_at=when, by="worker-1")
    return _referral_message(data, rid, when, "casework")


def engagement(rid: uuid.UUID, when: datetime, level: EngagementLevel) -> Message:
    data = EngagementRecorded(
        referral_id=rid, agency=AGENCY, level=level, recorded_at=when, by="worker-1"
    )
    return _referral_message(data, rid, when, "casework")


def completed(rid: uuid.UUID, when: datetime, outcome: Outcome) -> Message:
    data = ReferralCompleted(
        referral_id=rid, agency=AGENCY, outcome=outcome, completed_at=when, by="worker-1"
    )
    return _referral_message(data, rid, when, "casework")


def closed(rid: uuid.UUID, when: datetime, outcome: Outcome) -> Message:
    data = ReferralClosed(
        referral_id=rid, agency=AGENCY, outcome=outcome, closed_at=when, by="worker-1"
    )
    return _referral_message(data, rid, when, "casework")


def cancelled(
    rid: uuid.UUID,
    when: datetime,
    reason: CancellationReason = CancellationReason.INTELLIGENCE_WITHDRAWN,
) -> Message:
    """Casework's answer to intake's CancellationRequested (casework owns cancellation)."""
    data = ReferralCancelled(referral_id=rid, reason=reason, cancelled_at=when)
    return _referral_message(data, rid, when, "casework")


def intelligence(district: str, county_line: str | None, recorded: datetime) -> Message:
    """IntelligenceSubmitted as a police system sends it, about an address in ``district``."""
    message = submitted(county_line=county_line, recorded_at=recorded.isoformat())
    message["data"]["address"]["postcode"] = f"{district} 4XY"
    key = intelligence_key(message["data"]["force"], message["data"]["intelligence_ref"])
    return Message(POLICE_INTELLIGENCE, key, json.dumps(message).encode())


def withdrawal(of: Message, reason: str) -> Message:
    message = withdrawn(json.loads(of.value), reason=reason)
    return Message(POLICE_INTELLIGENCE, of.key, json.dumps(message).encode())


def directory(version: int, areas: dict[str, list[str]]) -> Message:
    """A DirectoryPublished with one agency covering every area given (code -> districts)."""
    data = DirectoryPublished.model_validate(
        {
            "version": version,
            "published_at": datetime.now(UTC).isoformat(),
            "published_by": "user:directory-admin",
            "areas": [
                {"code": code, "name": f"Area {code}", "force": FORCE, "postcode_districts": ds}
                for code, ds in areas.items()
            ],
            "agencies": [
                {
                    "code": AGENCY,
                    "name": "The Well Communities",
                    "areas": list(areas),
                    "services": ["vulnerability_visit"],
                    "capacity": 10,
                    "acceptance_deadline": "PT48H",
                }
            ],
        }
    )
    return Message(DIRECTORY, DIRECTORY_KEY, directory_envelope(data))


def data_of(message: Message) -> Any:
    """The parsed payload, as a consumer sees it."""
    envelope: Envelope[Any] = parse_event(message.value)
    return envelope.data
