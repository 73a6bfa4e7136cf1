"""A referral as casework knows it: the shared lifecycle plus what the agency works with.
Pure.

``evolve(state, envelope)`` is the only way state changes. Status, agency, area, deadline,
hold, assignment, first contact, outcome and cancellation come from the shared fold
(``referral_schemas.lifecycle.evolve``), so casework says what every other service says
about a referral; an event that fold refuses has no effect here either (the caller records
it as "no effect"). Beside the lifecycle casework keeps the minimised referral the agency
works from (subject, address, risk, reasons, visitor-safety markers: the latest the log
carried) and its counts of the work done. Personal data is kept only as the minimised
referral carried it.

Casework's state is the fold of the log in log order ("canonical"). Its own decisions that
have not come back from the log yet ("pending") are laid over it with ``shown`` for
decisions and displays; they are folded into canonical when they come back, at their log
position, exactly once.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from referral_schemas import (
    Envelope,
    EventData,
    PersonalDataErased,
    ReferralLinked,
    ReferralOpened,
    SealedPersonal,
)
from referral_schemas.lifecycle import Lifecycle, Refusal
from referral_schemas.lifecycle import evolve as evolve_lifecycle
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES, TERMINAL, ReferralStatus
from referral_schemas.lifecycle_v1 import (
    ContactAttempted,
    EngagementRecorded,
    ReferralRerouted,
    ReferralRouted,
    SlaBreached,
    VisitAttempted,
    VisitCompleted,
)
from referral_schemas.referral_v1 import (
    CancellationRequested,
    ReferralAmended,
    ReferralCancelled,
)
from referral_schemas.resolution_v1 import OfferExpired

Status = ReferralStatus
"""The shared lifecycle status: casework has no word of its own."""
FINISHED = TERMINAL
FOLDED_TYPES = LIFECYCLE_EVENT_TYPES | {PersonalDataErased.EVENT_TYPE}
"""Every referral event type casework keeps: each is folded, or recorded as having no
effect. Erasure is folded beside the lifecycle (``_erased``)."""


class CaseState(BaseModel):
    """Everything casework shows or checks about one referral."""

    model_config = ConfigDict(frozen=True)

    lifecycle: Lifecycle
    """The shared state: the single source of status, agency, deadline, hold, outcome."""
    correlation_id: uuid.UUID
    risk_level: str
    reason_categories: tuple[str, ...]
    visitor_safety: tuple[str, ...]
    personal: SealedPersonal | None
    """The person to visit and where, sealed as the log carried them (opened only on a
    consultation, services.casework.personal); None once erased."""
    district: str
    """The address's postcode district (in clear on the log: routing needs it)."""
    erased_at: datetime | None = None
    """When the person's details were erased (PersonalDataErased)."""
    isa_version: str | None = None
    amended_at: datetime | None = None
    """When withdrawn intelligence last changed the referral (ReferralAmended)."""
    contact_attempts: int = 0
    visit_attempts: int = 0
    visits_completed: int = 0
    engagement: str | None = None
    updated_at: datetime

    def change(self, **fields: Any) -> "CaseState":
        return self.model_copy(update=fields)

    @model_validator(mode="before")
    @classmethod
    def _from_before_sealing(cls, data: Any) -> Any:
        """A row stored before sealing (the person in clear) reads without the person: the
        district stays, the details read as unavailable. docs/privacy.md: such a stack is
        to be started afresh; until then its queue still works."""
        if isinstance(data, dict) and "address" in data and "district" not in data:
            legacy = {k: v for k, v in data.items() if k not in ("subject", "address")}
            return {**legacy, "personal": None, "district": data["address"]["district"]}
        return data

    # The lifecycle's fields, under the names the API and the store use.
    @property
    def referral_id(self) -> uuid.UUID:
        return self.lifecycle.referral_id

    @property
    def force(self) -> str:
        return self.lifecycle.force

    @property
    def opened_at(self) -> datetime:
        return self.lifecycle.opened_at

    @property
    def status(self) -> ReferralStatus:
        return self.lifecycle.status

    @property
    def agency(self) -> str | None:
        return self.lifecycle.agency

    @property
    def area(self) -> str | None:
        return self.lifecycle.area

    @property
    def due_by(self) -> datetime | None:
        return self.lifecycle.due_by

    @property
    def paused_remaining(self) -> timedelta | None:
        return self.lifecycle.paused_remaining

    @property
    def held(self) -> bool:
        return self.lifecycle.held

    @property
    def hold_reason(self) -> str | None:
        return self.lifecycle.hold_reason

    @property
    def assigned_to(self) -> str | None:
        return self.lifecycle.assigned_to

    @property
    def first_contact_at(self) -> datetime | None:
        return self.lifecycle.first_contact_at

    @property
    def outcome(self) -> str | None:
        outcome = self.lifecycle.outcome
        return outcome.value if outcome is not None else None

    @property
    def cancel_reason(self) -> str | None:
        reason = self.lifecycle.cancel_reason
        return reason.value if reason is not None else None

    @property
    def previous_referral_id(self) -> uuid.UUID | None:
        return self.lifecycle.previous_referral_id

    @property
    def ended(self) -> bool:
        return self.lifecycle.ended


def _opened(envelope: Envelope[ReferralOpened], lifecycle: Lifecycle) -> CaseState:
    data = envelope.data
    return CaseState(
        lifecycle=lifecycle,
        correlation_id=envelope.correlationid,
        risk_level=data.risk_level.value,
        reason_categories=tuple(c.value for c in data.reason_categories),
        visitor_safety=tuple(m.value for m in data.visitor_safety),
        personal=data.personal,
        district=data.postcode_district,
        isa_version=data.isa_version,
        updated_at=envelope.time,
    )


def _amended(state: CaseState, data: ReferralAmended) -> CaseState:
    """The referral as the intelligence that remains describes it."""
    return state.change(
        risk_level=data.risk_level.value,
        reason_categories=tuple(c.value for c in data.reason_categories),
        visitor_safety=tuple(m.value for m in data.visitor_safety),
        # Erased stays erased: the keys of an amendment sealed before the erasure are gone.
        personal=data.personal if state.erased_at is None else None,
        district=data.postcode_district,
        amended_at=data.amended_at,
    )


def _work_data(state: CaseState, data: EventData) -> CaseState:
    """What casework keeps beside the lifecycle: the referral's content and the work done."""
    match data:
        case ReferralLinked():
            return state.change(
                risk_level=data.risk_level.value,
                reason_categories=tuple(c.value for c in data.reason_categories),
                visitor_safety=tuple(m.value for m in data.visitor_safety),
            )
        case ReferralAmended():
            return _amended(state, data)
        case ReferralRouted() | ReferralRerouted():
            return state.change(isa_version=data.isa_version)
        case ContactAttempted():
            return state.change(contact_attempts=state.contact_attempts + 1)
        case VisitAttempted():
            return state.change(visit_attempts=state.visit_attempts + 1)
        case VisitCompleted():
            return state.change(visits_completed=state.visits_completed + 1)
        case EngagementRecorded():
            return state.change(engagement=data.level.value)
    return state


def _erased(state: CaseState | None, data: PersonalDataErased) -> CaseState | Refusal:
    """Erasure is not a lifecycle event: valid in every status, the terminal ones too; the
    sealed copy goes, the date stays (the keys that opened it are destroyed already)."""
    if state is None:
        return Refusal("unknown_referral", "no ReferralOpened was seen for this referral")
    return state.change(personal=None, erased_at=state.erased_at or data.erased_at)


def evolve(state: CaseState | None, envelope: Envelope[Any]) -> CaseState | Refusal:
    """The state after one referral event, or why the event has no effect where it landed
    (the shared fold's refusal: a late event after the referral ended, an answer for an
    agency it is not offered to, a stale deadline, an event before ReferralOpened...)."""
    data = envelope.data
    if isinstance(data, PersonalDataErased):
        return _erased(state, data)
    lifecycle = evolve_lifecycle(state.lifecycle if state is not None else None, data)
    if isinstance(lifecycle, Refusal):
        return lifecycle
    if isinstance(data, ReferralOpened):
        return _opened(envelope, lifecycle)
    assert state is not None  # the shared fold refuses anything before ReferralOpened
    return _work_data(state, data).change(lifecycle=lifecycle, updated_at=envelope.time)


def shown(canonical: CaseState, pending: Iterable[Envelope[Any]]) -> CaseState:
    """The log's state with casework's own decisions not yet seen on the log laid over it
    (one with no effect there is skipped): what decisions are made against, and what staff
    see, so two quick actions see each other."""
    state = canonical
    for envelope in pending:
        result = evolve(state, envelope)
        if not isinstance(result, Refusal):
            state = result
    return state


def answer(view: CaseState, data: EventData, now: datetime) -> EventData | Refusal | None:
    """The owner's answer to a proposal on the log, decided against ``view`` (canonical and
    pending): None if ``data`` proposes nothing; a Refusal when the proposal no longer
    holds (the referral moved on); otherwise the decision to publish.

    - SlaBreached: the offer expires only if it is still open at that agency with that
      deadline and not held (the shared fold accepts the breach there).
    - CancellationRequested: the referral is cancelled (same reason, withdrawn references)
      unless it has already ended.
    """
    decided: EventData
    match data:
        case SlaBreached():
            decided = OfferExpired(
                referral_id=data.referral_id,
                agency=data.agency,
                due_by=data.due_by,
                expired_at=now,
            )
        case CancellationRequested():
            decided = ReferralCancelled(
                referral_id=data.referral_id,
                reason=data.reason,
                cancelled_at=now,
                withdrawn_intelligence_refs=list(data.withdrawn_intelligence_refs),
            )
        case _:
            return None
    proposal = evolve_lifecycle(view.lifecycle, data)
    if isinstance(proposal, Refusal):
        return proposal
    outcome = evolve_lifecycle(proposal, decided)
    return outcome if isinstance(outcome, Refusal) else decided
