"""A referral as casework knows it: a fold of the referral events. Pure.

``apply(state, envelope)`` is the only way state changes, whether the event came from Kafka
(routing, intake) or from a staff action here, so a replay of the topic rebuilds the same
state. Personal data (subject, address) is kept only as the minimised referral carried it.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from referral_schemas import Envelope, EventData, ReferralCancelled, ReferralLinked, ReferralOpened
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    EngagementRecorded,
    ReferralAccepted,
    ReferralAssigned,
    ReferralClosed,
    ReferralCompleted,
    ReferralDeclined,
    ReferralEscalated,
    ReferralHeld,
    ReferralRerouted,
    ReferralResumed,
    ReferralRouted,
    SlaBreached,
    VisitAttempted,
    VisitCompleted,
)


class Status(StrEnum):
    OPENED = "opened"
    """Opened by intake, not yet routed to an agency."""
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    DECLINED = "declined"
    """Declined by the last agency; waiting to be routed again (no agency holds it)."""
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


FINISHED = frozenset({Status.CLOSED, Status.CANCELLED})


class Subject(BaseModel):
    model_config = ConfigDict(frozen=True)

    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str | None


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str
    line2: str | None
    town: str
    postcode: str
    district: str


class CaseState(BaseModel):
    """Everything casework shows or checks about one referral."""

    model_config = ConfigDict(frozen=True)

    referral_id: uuid.UUID
    correlation_id: uuid.UUID
    force: str
    opened_at: datetime
    risk_level: str
    reason_categories: tuple[str, ...]
    visitor_safety: tuple[str, ...]
    subject: Subject
    address: Location
    status: Status = Status.OPENED
    agency: str | None = None
    area: str | None = None
    due_by: datetime | None = None
    isa_version: str | None = None
    overdue: bool = False
    assigned_to: str | None = None
    held: bool = False
    hold_reason: str | None = None
    contact_attempts: int = 0
    visit_attempts: int = 0
    visits_completed: int = 0
    first_contact_at: datetime | None = None
    engagement: str | None = None
    outcome: str | None = None
    cancel_reason: str | None = None
    updated_at: datetime

    def change(self, **fields: Any) -> "CaseState":
        return self.model_copy(update=fields)


class UnknownReferral(Exception):
    """An event about a referral whose ReferralOpened was never seen."""


def _opened(envelope: Envelope[ReferralOpened]) -> CaseState:
    data = envelope.data
    return CaseState(
        referral_id=data.referral_id,
        correlation_id=envelope.correlationid,
        force=data.force,
        opened_at=data.opened_at,
        risk_level=data.risk_level.value,
        reason_categories=tuple(c.value for c in data.reason_categories),
        visitor_safety=tuple(m.value for m in data.visitor_safety),
        subject=Subject(**data.subject.model_dump()),
        address=Location(
            line1=data.address.line1,
            line2=data.address.line2,
            town=data.address.town,
            postcode=data.address.postcode,
            district=data.postcode_district,
        ),
        isa_version=data.isa_version,
        updated_at=envelope.time,
    )


def _linked(s: CaseState, e: ReferralLinked) -> CaseState:
    return s.change(
        risk_level=e.risk_level.value,
        reason_categories=tuple(c.value for c in e.reason_categories),
        visitor_safety=tuple(m.value for m in e.visitor_safety),
    )


def _routed(s: CaseState, e: ReferralRouted) -> CaseState:
    return _offered(s, e.agency, e.area, e.due_by, e.isa_version)


def _rerouted(s: CaseState, e: ReferralRerouted) -> CaseState:
    return _offered(s, e.to_agency, e.area, e.due_by, e.isa_version)


def _offered(s: CaseState, agency: str, area: str, due_by: datetime, isa: str) -> CaseState:
    return s.change(
        status=Status.AWAITING_ACCEPTANCE,
        agency=agency,
        area=area,
        due_by=due_by,
        isa_version=isa,
        overdue=False,
        assigned_to=None,
    )


def _escalated(s: CaseState, e: ReferralEscalated) -> CaseState:
    return s.change(status=Status.ESCALATED, agency=None, area=e.area or s.area, overdue=False)


def _breached(s: CaseState, e: SlaBreached) -> CaseState:
    late = s.status is Status.AWAITING_ACCEPTANCE and s.agency == e.agency
    return s.change(overdue=True) if late else s


def _contacted(s: CaseState, e: ContactAttempted) -> CaseState:
    first = s.first_contact_at or e.attempted_at
    return s.change(contact_attempts=s.contact_attempts + 1, first_contact_at=first)


_FOLDS: dict[type[EventData], Callable[[CaseState, Any], CaseState]] = {
    ReferralLinked: _linked,
    ReferralRouted: _routed,
    ReferralRerouted: _rerouted,
    ReferralEscalated: _escalated,
    SlaBreached: _breached,
    ReferralAccepted: lambda s, e: s.change(status=Status.ACCEPTED, overdue=False),
    ReferralDeclined: lambda s, e: s.change(
        status=Status.DECLINED, agency=None, assigned_to=None, overdue=False
    ),
    ReferralAssigned: lambda s, e: s.change(assigned_to=e.worker),
    ContactAttempted: _contacted,
    VisitAttempted: lambda s, e: s.change(visit_attempts=s.visit_attempts + 1),
    VisitCompleted: lambda s, e: s.change(visits_completed=s.visits_completed + 1),
    EngagementRecorded: lambda s, e: s.change(engagement=e.level.value),
    ReferralHeld: lambda s, e: s.change(held=True, hold_reason=e.reason.value),
    ReferralResumed: lambda s, e: s.change(held=False, hold_reason=None),
    ReferralCompleted: lambda s, e: s.change(status=Status.COMPLETED, outcome=e.outcome.value),
    ReferralClosed: lambda s, e: s.change(status=Status.CLOSED, outcome=e.outcome.value),
    ReferralCancelled: lambda s, e: s.change(
        status=Status.CANCELLED, cancel_reason=e.reason.value, held=False
    ),
}

_TRACKED: tuple[type[EventData], ...] = (ReferralOpened, *_FOLDS)
FOLDED_TYPES = frozenset(model.EVENT_TYPE for model in _TRACKED)


def apply(state: CaseState | None, envelope: Envelope[Any]) -> CaseState | None:
    """The state after one event. Events casework does not track leave it unchanged;
    a second ReferralOpened for a known referral is ignored (the first one wins)."""
    data = envelope.data
    if isinstance(data, ReferralOpened):
        return state if state is not None else _opened(envelope)
    fold = _FOLDS.get(type(data))
    if fold is None:
        return state
    if state is None:
        raise UnknownReferral(envelope.type)
    return fold(state, data).change(updated_at=envelope.time)
