"""Every event of one referral's life, built as intake, routing and casework publish them,
for tests of the services that fold referral events (unit, property-based, e2e).

Times are hours after the referral's ``t0``; agencies are codes; the person's data comes from
the golden ReferralOpened sample (tests check it never leaves the services that may see it).
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from referral_schemas import (
    Address,
    CancellationReason,
    CancellationRequested,
    ContactAttempted,
    ContactMethod,
    ContactResult,
    DeclineReason,
    EngagementLevel,
    EngagementRecorded,
    EscalationClosed,
    EscalationReason,
    EventData,
    HoldReason,
    LinkBasis,
    OfferExpired,
    Outcome,
    ReferralAccepted,
    ReferralAmended,
    ReferralAssigned,
    ReferralCancelled,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralDirected,
    ReferralEscalated,
    ReferralHeld,
    ReferralLinked,
    ReferralOpened,
    ReferralRerouted,
    ReferralResumed,
    ReferralRouted,
    ReferralSubject,
    RerouteCause,
    SlaBreached,
    VisitAttempted,
    VisitCompleted,
    VisitResult,
    load_sample,
    make_envelope,
    parse_event,
    serialize_event,
)
from referral_schemas.lifecycle_rules import OPENING_PRODUCER, RULES, Producer
from referral_schemas.resolution_v1 import DirectionReason

from tests.support.sealing import sealed

FORCE = "cumbria"
AGENCY = "twc-barrow"
OTHER_AGENCY = "cumbria-recovery-south"
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@cache
def _opened_sample() -> ReferralOpened:
    data = parse_event(load_sample("ReferralOpened.v2")).data
    assert isinstance(data, ReferralOpened)
    return data


@cache
def _amended_sample() -> ReferralAmended:
    data = parse_event(load_sample("ReferralAmended.v2")).data
    assert isinstance(data, ReferralAmended)
    return data


SUBJECT = ReferralSubject(given_name="Casey", family_name="Marsh", phone=None)


def _address_in(district: str) -> Address:
    return Address(
        line1="27 Harbour View Terrace", town="Barrow-in-Furness", postcode=f"{district} 9ZZ"
    )


@dataclass(frozen=True)
class ReferralLog:
    """Builders of one referral's events. ``hours`` place an event after ``t0``."""

    referral_id: uuid.UUID = field(default_factory=uuid.uuid4)
    t0: datetime = T0
    ref: str = "CUM/2026/000001"

    def at(self, hours: float) -> datetime:
        return self.t0 + timedelta(hours=hours)

    def _ids(self) -> dict[str, Any]:
        return {"referral_id": self.referral_id}

    # intake
    def opened(self, district: str = "LA14", force: str = FORCE, hours: float = 0) -> EventData:
        update = {
            **self._ids(),
            "force": force,
            "intelligence_ref": self.ref,
            "opened_at": self.at(hours),
            "postcode_district": district,
        }
        personal = sealed(self.referral_id, SUBJECT, _address_in(district))
        return _opened_sample().model_copy(update={**update, "personal": personal})

    def linked(self, ref: str, force: str = FORCE, hours: float = 1) -> EventData:
        sample = _opened_sample()
        return ReferralLinked(
            **self._ids(),
            force=force,
            intelligence_ref=ref,
            link_basis=LinkBasis.SAME_PERSON,
            linked_at=self.at(hours),
            risk_level=sample.risk_level,
            reason_categories=list(sample.reason_categories),
        )

    def amended(
        self, withdrawn_ref: str, district: str = "LA14", force: str = FORCE, hours: float = 2
    ) -> EventData:
        update = {
            **self._ids(),
            "withdrawn_force": force,
            "withdrawn_intelligence_ref": withdrawn_ref,
            "amended_at": self.at(hours),
            "postcode_district": district,
        }
        personal = sealed(self.referral_id, SUBJECT, _address_in(district))
        return _amended_sample().model_copy(update={**update, "personal": personal})

    def cancellation_requested(
        self,
        reason: CancellationReason = CancellationReason.INTELLIGENCE_WITHDRAWN,
        hours: float = 3,
    ) -> EventData:
        return CancellationRequested(
            **self._ids(),
            reason=reason,
            withdrawn_intelligence_refs=[self.ref],
            requested_at=self.at(hours),
        )

    # routing
    def routed(
        self, agency: str = AGENCY, area: str = "barrow", hours: float = 0.1, due: float = 48
    ) -> EventData:
        return ReferralRouted(
            **self._ids(),
            agency=agency,
            area=area,
            due_by=self.at(hours + due),
            routed_at=self.at(hours),
            directory_version=1,
            isa_version="isa-1",
        )

    def rerouted(
        self, from_agency: str, to_agency: str, hours: float = 12, due: float = 48
    ) -> EventData:
        return ReferralRerouted(
            **self._ids(),
            from_agency=from_agency,
            to_agency=to_agency,
            area="barrow",
            cause=RerouteCause.DECLINED,
            due_by=self.at(hours + due),
            rerouted_at=self.at(hours),
            directory_version=1,
            isa_version="isa-1",
        )

    def escalated(
        self,
        reason: EscalationReason = EscalationReason.ALL_AGENCIES_DECLINED,
        area: str | None = "barrow",
        hours: float = 20,
    ) -> EventData:
        return ReferralEscalated(
            **self._ids(), reason=reason, area=area, escalated_at=self.at(hours)
        )

    def sla_breached(self, agency: str, due_by: datetime, hours: float = 50) -> EventData:
        return SlaBreached(**self._ids(), agency=agency, due_by=due_by, breached_at=self.at(hours))

    # casework: the owner's decisions
    def offer_expired(self, agency: str, due_by: datetime, hours: float = 50) -> EventData:
        return OfferExpired(**self._ids(), agency=agency, due_by=due_by, expired_at=self.at(hours))

    def accepted(self, agency: str = AGENCY, hours: float = 1) -> EventData:
        return ReferralAccepted(**self._ids(), agency=agency, accepted_at=self.at(hours), by="w-1")

    def declined(self, agency: str = AGENCY, hours: float = 1) -> EventData:
        return ReferralDeclined(
            **self._ids(),
            agency=agency,
            reason=DeclineReason.NO_CAPACITY,
            declined_at=self.at(hours),
            by="w-1",
        )

    def cancelled(
        self,
        reason: CancellationReason = CancellationReason.INTELLIGENCE_WITHDRAWN,
        hours: float = 30,
    ) -> EventData:
        return ReferralCancelled(
            **self._ids(),
            reason=reason,
            cancelled_at=self.at(hours),
            withdrawn_intelligence_refs=[self.ref],
        )

    def directed(self, agency: str = AGENCY, hours: float = 22) -> EventData:
        return ReferralDirected(
            **self._ids(),
            agency=agency,
            reason=DirectionReason.CAPACITY_AGREED_WITH_AGENCY,
            directed_at=self.at(hours),
            by="coord-1",
        )

    def escalation_closed(
        self, outcome: Outcome = Outcome.SAFEGUARDING_ESCALATED, hours: float = 24
    ) -> EventData:
        return EscalationClosed(**self._ids(), outcome=outcome, closed_at=self.at(hours), by="c-1")

    def held(self, agency: str | None = AGENCY, hours: float = 5) -> EventData:
        return ReferralHeld(
            **self._ids(),
            agency=agency,
            reason=HoldReason.LIVE_POLICE_OPERATION,
            held_at=self.at(hours),
            by="coord-1",
        )

    def resumed(self, agency: str | None = AGENCY, hours: float = 6) -> EventData:
        return ReferralResumed(**self._ids(), agency=agency, resumed_at=self.at(hours), by="c-1")

    # casework: staff work
    def assigned(self, agency: str = AGENCY, worker: str = "w-2", hours: float = 2) -> EventData:
        return ReferralAssigned(
            **self._ids(), agency=agency, worker=worker, assigned_at=self.at(hours), by="lead-1"
        )

    def contact(
        self,
        result: ContactResult = ContactResult.SPOKE_TO_PERSON,
        agency: str = AGENCY,
        hours: float = 5,
    ) -> EventData:
        return ContactAttempted(
            **self._ids(),
            agency=agency,
            method=ContactMethod.PHONE,
            result=result,
            attempted_at=self.at(hours),
            by="w-2",
        )

    def visit_attempted(self, agency: str = AGENCY, hours: float = 6) -> EventData:
        return VisitAttempted(
            **self._ids(),
            agency=agency,
            result=VisitResult.NO_ANSWER,
            attempted_at=self.at(hours),
            by="w-2",
        )

    def visited(self, agency: str = AGENCY, hours: float = 7) -> EventData:
        return VisitCompleted(**self._ids(), agency=agency, visited_at=self.at(hours), by="w-2")

    def engagement(
        self,
        level: EngagementLevel = EngagementLevel.ENGAGED,
        agency: str = AGENCY,
        hours: float = 8,
    ) -> EventData:
        return EngagementRecorded(
            **self._ids(), agency=agency, level=level, recorded_at=self.at(hours), by="w-2"
        )

    def completed(
        self,
        outcome: Outcome = Outcome.ENGAGED_WITH_SUPPORT,
        agency: str = AGENCY,
        hours: float = 100,
    ) -> EventData:
        return ReferralCompleted(
            **self._ids(), agency=agency, outcome=outcome, completed_at=self.at(hours), by="w-2"
        )

    def closed(
        self,
        outcome: Outcome = Outcome.ENGAGED_WITH_SUPPORT,
        agency: str = AGENCY,
        hours: float = 200,
    ) -> EventData:
        return ReferralClosed(
            **self._ids(), agency=agency, outcome=outcome, closed_at=self.at(hours), by="lead-1"
        )

    def worked_to_a_close(self, agency: str = AGENCY) -> list[EventData]:
        """Opened, routed, accepted, reached, completed and closed: the happy path."""
        return [
            self.opened(),
            self.routed(agency),
            self.accepted(agency),
            self.contact(agency=agency),
            self.completed(agency=agency),
            self.closed(agency=agency),
        ]


def published(data: EventData, correlation_id: uuid.UUID, time: datetime = T0) -> bytes:
    """The event enveloped as its producer (the lifecycle's rule table says which) puts it
    on referral.events: intake and routing as the system, casework as a person of the
    agency the event names."""
    rule = RULES.get(data.EVENT_TYPE)
    producer = OPENING_PRODUCER if rule is None else rule.producer
    agency = getattr(data, "agency", None) if producer is Producer.CASEWORK else None
    actor = "user:w-1" if producer is Producer.CASEWORK else f"system:{producer}"
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source=f"referral-hub/{producer}",
        time=time,
        subject=str(getattr(data, "referral_id")),  # noqa: B009
        correlation_id=correlation_id,
        causation_id=None,
        actor=actor,
        agency=agency,
    )
    return serialize_event(envelope)
