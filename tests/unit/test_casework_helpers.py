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
from referral_schemas.intelligence_v1 import Address, WithdrawalReason
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    HoldReason,
    ReferralEscalated,
    ReferralHeld,
    ReferralResumed,
    ReferralRouted,
    SlaBreached,
)
from referral_schemas.referral_v1 import CancellationRequested, ReferralAmended
from referral_schemas.resolution_v1 import OfferExpired

from services.casework.decisions import Actor, Role
from tests.support.sealing import sealed

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
    previous: uuid.UUID | None = None,
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
        personal=sealed(
            rid,
            ReferralSubject(given_name="Casey", family_name="Testperson", phone=None),
            Address(line1="1 Test Street", town="Barrow-in-Furness", postcode="LA14 9ZZ"),
        ),
        postcode_district="LA14",
        visitor_safety=[],
        previous_referral_id=previous,
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


def breached(
    referral_id: uuid.UUID, *, agency: str = AGENCY, due_by: datetime | None = None
) -> Envelope[Any]:
    """Routing's proposal that the offer routed with ``routed()`` (by default) expired."""
    due = due_by or NOW + timedelta(hours=48)
    data = SlaBreached(
        referral_id=referral_id, agency=agency, due_by=due, breached_at=due + timedelta(minutes=1)
    )
    return envelope(data, referral_id)


def expired(referral_id: uuid.UUID, *, agency: str = AGENCY) -> Envelope[Any]:
    """casework's answer to ``breached()``."""
    data = OfferExpired(
        referral_id=referral_id,
        agency=agency,
        due_by=NOW + timedelta(hours=48),
        expired_at=NOW + timedelta(hours=49),
    )
    return envelope(data, referral_id, actor="system:casework", source="referral-hub/casework")


def held(
    referral_id: uuid.UUID, *, at: datetime = NOW, agency: str | None = AGENCY
) -> Envelope[Any]:
    data = ReferralHeld(
        referral_id=referral_id,
        agency=agency,
        reason=HoldReason.LIVE_POLICE_OPERATION,
        held_at=at,
        by="spoc-1",
    )
    return envelope(data, referral_id, actor="user:spoc-1")


def resumed(
    referral_id: uuid.UUID, *, at: datetime = NOW, agency: str | None = AGENCY
) -> Envelope[Any]:
    data = ReferralResumed(referral_id=referral_id, agency=agency, resumed_at=at, by="spoc-1")
    return envelope(data, referral_id, actor="user:spoc-1")


def cancellation_requested(
    referral_id: uuid.UUID, reason: CancellationReason = CancellationReason.MOVED_AWAY
) -> Envelope[Any]:
    data = CancellationRequested(
        referral_id=referral_id,
        reason=reason,
        withdrawal_reason=WithdrawalReason.SUBJECT_MOVED_AWAY,
        withdrawn_intelligence_refs=["TEST/WITHDRAWN1"],
        requested_at=NOW,
    )
    return envelope(data, referral_id, actor="system:intake", source="referral-hub/intake")


def amended(referral_id: uuid.UUID) -> Envelope[Any]:
    """One of two linked pieces of intelligence withdrawn: what remains names someone else,
    at another address, at a lower risk, with other reasons and markers."""
    data = ReferralAmended(
        referral_id=referral_id,
        withdrawn_force=FORCE,
        withdrawn_intelligence_ref=f"TEST/{referral_id.hex[:10].upper()}",
        withdrawal_reason=WithdrawalReason.DISCREDITED,
        amended_at=NOW + timedelta(hours=2),
        risk_level=RiskLevel.MEDIUM,
        reason_categories=[Indicator.DEBT_BONDAGE],
        visitor_safety=["aggressive_dogs"],
        personal=sealed(
            referral_id,
            ReferralSubject(given_name="Robin", family_name="Otherperson", phone=None),
            Address(line1="2 Other Road", town="Kendal", postcode="LA9 4ZZ"),
        ),
        postcode_district="LA9",
    )
    return envelope(data, referral_id, actor="system:intake", source="referral-hub/intake")


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
