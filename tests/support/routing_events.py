"""Referral events as the log delivers them to routing, built for one referral: what
casework decides (accept, decline, expiry, hold, direction, cancellation, ...) and what
routing's timer proposes. For routing's tests; ``as_casework`` wraps one for the broker."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from referral_schemas import EventData, ReferralCancelled, make_envelope, serialize_event
from referral_schemas.lifecycle_v1 import (
    DeclineReason,
    HoldReason,
    Outcome,
    ReferralAccepted,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralHeld,
    ReferralResumed,
    SlaBreached,
)
from referral_schemas.referral_v1 import CancellationReason
from referral_schemas.resolution_v1 import (
    DirectionReason,
    EscalationClosed,
    OfferExpired,
    ReferralDirected,
)

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class About:
    """Events about one referral, each at ``at`` unless told otherwise."""

    referral_id: uuid.UUID
    at: datetime = AT

    def declined(self, agency: str) -> ReferralDeclined:
        return ReferralDeclined(
            referral_id=self.referral_id,
            agency=agency,
            reason=DeclineReason.NO_CAPACITY,
            declined_at=self.at,
            by="worker-1",
        )

    def expired(self, agency: str, due_by: datetime) -> OfferExpired:
        return OfferExpired(
            referral_id=self.referral_id, agency=agency, due_by=due_by, expired_at=self.at
        )

    def breached(self, agency: str, due_by: datetime) -> SlaBreached:
        return SlaBreached(
            referral_id=self.referral_id, agency=agency, due_by=due_by, breached_at=self.at
        )

    def accepted(self, agency: str) -> ReferralAccepted:
        return ReferralAccepted(
            referral_id=self.referral_id, agency=agency, accepted_at=self.at, by="worker-1"
        )

    def completed(self, agency: str) -> ReferralCompleted:
        return ReferralCompleted(
            referral_id=self.referral_id,
            agency=agency,
            outcome=Outcome.ENGAGED_WITH_SUPPORT,
            completed_at=self.at,
            by="worker-1",
        )

    def closed(self, agency: str) -> ReferralClosed:
        return ReferralClosed(
            referral_id=self.referral_id,
            agency=agency,
            outcome=Outcome.ENGAGED_WITH_SUPPORT,
            closed_at=self.at,
            by="worker-1",
        )

    def cancelled(self) -> ReferralCancelled:
        return ReferralCancelled(
            referral_id=self.referral_id,
            reason=CancellationReason.INTELLIGENCE_WITHDRAWN,
            cancelled_at=self.at,
        )

    def held(self, at: datetime) -> ReferralHeld:
        return ReferralHeld(
            referral_id=self.referral_id,
            agency=None,
            reason=HoldReason.LIVE_POLICE_OPERATION,
            held_at=at,
            by="coord-1",
        )

    def resumed(self, at: datetime) -> ReferralResumed:
        return ReferralResumed(
            referral_id=self.referral_id, agency=None, resumed_at=at, by="coord-1"
        )

    def directed(self, agency: str) -> ReferralDirected:
        return ReferralDirected(
            referral_id=self.referral_id,
            agency=agency,
            reason=DirectionReason.CAPACITY_AGREED_WITH_AGENCY,
            directed_at=self.at,
            by="coord-1",
        )

    def escalation_closed(self) -> EscalationClosed:
        return EscalationClosed(
            referral_id=self.referral_id,
            outcome=Outcome.SAFEGUARDING_ESCALATED,
            closed_at=self.at,
            by="coord-1",
        )


def as_casework(data: EventData, cause: dict[str, Any]) -> bytes:
    """``data`` as casework would publish it, caused by ``cause`` (an event about the same
    referral, as JSON from the topic)."""
    envelope = make_envelope(
        data,
        id=uuid.uuid4(),
        source="referral-hub/casework",
        time=datetime.now(UTC),
        subject=cause["subject"],
        correlation_id=uuid.UUID(cause["correlationid"]),
        causation_id=uuid.UUID(cause["id"]),
        actor="user:coord-e2e",
    )
    return serialize_event(envelope)
