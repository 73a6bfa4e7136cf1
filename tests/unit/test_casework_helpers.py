"""Builders of referral events for casework's tests (unit, integration, e2e), as intake and
routing would publish them. Imported explicitly; the one test here checks the builders."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from referral_schemas import (
    CancellationReason,
    Envelope,
    EventData,
    Indicator,
    ReferralCancelled,
    ReferralOpened,
    ReferralSubject,
    RiskLevel,
    make_envelope,
)
from referral_schemas.intelligence_v1 import Address
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    ReferralEscalated,
    ReferralRouted,
    SlaBreached,
)

from services.casework.decisions import Actor, Role

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
FORCE = "cumbria"
AGENCY = "twc-barrow"
OTHER_AGENCY = "twc-kendal"
AREA = "barrow"


def envelope(
    data: EventData,
    referral_id: uuid.UUID,
    *,
    at: datetime = NOW,
    actor: str = "system:routing",
    agency: str | None = None,
    source: str = "referral-hub/routing",
) -> Envelope[Any]:
    return make_envelope(
        data,
        id=uuid.uuid4(),
        source=source,
        time=at,
        subject=str(referral_id),
        correlation_id=referral_id,
        causation_id=None,
        actor=actor,
        agency=agency,
    )


def opened(
    referral_id: uuid.UUID | None = None,
    *,
    risk: RiskLevel = RiskLevel.HIGH,
    force: str = FORCE,
    at: datetime = NOW,
) -> Envelope[Any]:
    rid = referral_id or uuid.uuid4()
    data = ReferralOpened(
        referral_id=rid,
        force=force,
        intelligence_ref=f"TEST/{rid.hex[:10].upper()}",
        isa_version="cumbria-1clic-isa-v1",
        opened_at=at,
        risk_level=risk,
        reason_categories=[Indicator.CUCKOOING],
        subject=ReferralSubject(given_name="Casey", family_name="Testperson", phone=None),
        address=Address(line1="1 Test Street", town="Barrow-in-Furness", postcode="LA14 9ZZ"),
        postcode_district="LA14",
        visitor_safety=[],
    )
    return envelope(data, rid, at=at, actor="system:intake", source="referral-hub/intake")


def routed(
    referral_id: uuid.UUID,
    *,
    agency: str = AGENCY,
    area: str = AREA,
    due_by: datetime | None = None,
) -> Envelope[Any]:
    data = ReferralRouted(
        referral_id=referral_id,
        agency=agency,
        area=area,
        due_by=due_by or NOW + timedelta(hours=48),
        routed_at=NOW,
        directory_version=1,
        isa_version="cumbria-1clic-isa-v1",
    )
    return envelope(data, referral_id)


def escalated(referral_id: uuid.UUID) -> Envelope[Any]:
    data = ReferralEscalated(
        referral_id=referral_id,
        reason=EscalationReason.ALL_AGENCIES_DECLINED,
        area=AREA,
        escalated_at=NOW,
    )
    return envelope(data, referral_id)


def breached(referral_id: uuid.UUID, *, agency: str = AGENCY) -> Envelope[Any]:
    data = SlaBreached(
        referral_id=referral_id, agency=agency, due_by=NOW, breached_at=NOW + timedelta(hours=1)
    )
    return envelope(data, referral_id)


def cancelled(
    referral_id: uuid.UUID, reason: CancellationReason = CancellationReason.INTELLIGENCE_WITHDRAWN
) -> Envelope[Any]:
    data = ReferralCancelled(referral_id=referral_id, reason=reason, cancelled_at=NOW)
    return envelope(data, referral_id, actor="system:intake", source="referral-hub/intake")


def staff_event(data: EventData, referral_id: uuid.UUID, by: str = "worker-1") -> Envelope[Any]:
    return envelope(data, referral_id, actor=f"user:{by}", agency=AGENCY)


def worker(user: str = "worker-1", agency: str = AGENCY) -> Actor:
    return Actor(user=user, role=Role.SUPPORT_WORKER, agency=agency, force=None)


def lead(user: str = "lead-1", agency: str = AGENCY) -> Actor:
    return Actor(user=user, role=Role.AGENCY_LEAD, agency=agency, force=None)


def police(user: str = "spoc-1", force: str = FORCE) -> Actor:
    return Actor(user=user, role=Role.POLICE_COORDINATOR, agency=None, force=force)


def auditor(user: str = "audit-1") -> Actor:
    return Actor(user=user, role=Role.AUDITOR, agency=None, force=None)


def test_builders_make_events_about_one_referral() -> None:
    rid = uuid.uuid4()
    assert {e.subject for e in (opened(rid), routed(rid), cancelled(rid))} == {str(rid)}
