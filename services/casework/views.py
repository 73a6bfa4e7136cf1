"""What the API shows of a referral. Pure.

The queue shows no personal data (no name, no address): reading those is a consultation,
and consultations happen only on the detail page, where each one is recorded.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from referral_schemas import Envelope, EventData, PersonalDetails

from services.casework.domain import CaseState, Status

# Event fields a timeline entry may show: codes, deadlines, worker ids. Never a name,
# an address, an intelligence reference or free text.
_SUMMARY_FIELDS = frozenset(
    {
        "agency",
        "from_agency",
        "to_agency",
        "area",
        "due_by",
        "reason",
        "cause",
        "method",
        "result",
        "level",
        "worker",
        "outcome",
        "risk_level",
        "reason_categories",
        "link_basis",
        "visitor_safety",
        "withdrawal_reason",
        "by",
        "scope",
    }
)


def timeline_summary(data: EventData) -> dict[str, Any]:
    dumped = data.model_dump(mode="json")
    return {name: value for name, value in dumped.items() if name in _SUMMARY_FIELDS}


def is_overdue(state: CaseState, now: datetime) -> bool:
    """Past the running acceptance deadline and not yet answered. A held referral's
    deadline is paused (no due_by), so it is never overdue; once casework has decided the
    offer expired (OfferExpired), it is no longer awaiting that agency."""
    waiting = state.status is Status.AWAITING_ACCEPTANCE
    return waiting and state.due_by is not None and state.due_by < now


class QueueItem(BaseModel):
    """One referral in a queue: codes and dates only."""

    model_config = ConfigDict(frozen=True)

    referral_id: uuid.UUID
    status: Status
    risk_level: str = Field(description="critical, high, medium or low")
    reason_categories: list[str]
    visitor_safety: list[str]
    force: str
    agency: str | None
    area: str | None
    postcode_district: str
    opened_at: datetime
    due_by: datetime | None = Field(
        description="Acceptance deadline set by routing; null while a police hold pauses it."
    )
    paused_remaining: timedelta | None = Field(
        description="Time left on the acceptance deadline while a police hold pauses it "
        "(ISO 8601 duration); a new deadline runs from when the hold is lifted."
    )
    overdue: bool
    held: bool = Field(description="On a police hold: do not approach.")
    hold_reason: str | None
    escalation_reason: str | None = Field(
        description="Why routing escalated it to the police coordinator, while escalated."
    )
    assigned_to: str | None
    outcome: str | None
    cancel_reason: str | None = Field(description="Why it was cancelled, when it was.")


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int = Field(description="How many referrals match the filters, over all pages.")
    limit: int
    offset: int


class SubjectView(BaseModel):
    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str | None


class AddressView(BaseModel):
    line1: str
    line2: str | None
    town: str
    postcode: str


class TimelineEntry(BaseModel):
    event_id: uuid.UUID
    type: str
    at: datetime
    actor: str
    agency: str | None
    summary: dict[str, Any]
    no_effect: str | None = Field(
        default=None,
        description="Set when the event had no effect where it landed on the log (e.g. a "
        "late routing after the referral was cancelled): the reason's code.",
    )
    pending: bool = Field(
        default=False,
        description="Recorded here and published, not yet read back from the event log.",
    )


class ReferralDetail(QueueItem):
    """The minimised referral (as the ISA allows the agency to see it) and its history."""

    isa_version: str | None
    subject: SubjectView | None = Field(
        description="The person to visit; null once their details were erased."
    )
    address: AddressView | None = Field(description="Where to visit; null once erased.")
    personal_details_erased_at: datetime | None = Field(
        description="When the person's details were erased (`hub erase`, or their retention "
        "period ran out); the referral's history stays."
    )
    amended_at: datetime | None = Field(
        description="When withdrawn intelligence last changed the referral (subject, address, "
        "risk, reasons, visitor-safety markers are as the remaining intelligence says)."
    )
    previous_referral_id: uuid.UUID | None = Field(
        description="The ended referral about the same person or address this one follows."
    )
    directed_to: str | None = Field(
        description="The agency a police coordinator directed it to, until routing offers it."
    )
    contact_attempts: int
    visit_attempts: int
    visits_completed: int
    first_contact_at: datetime | None
    engagement: str | None
    timeline: list[TimelineEntry]


class ActionResult(BaseModel):
    """What a staff action recorded."""

    referral_id: uuid.UUID
    status: Status
    events: list[str] = Field(description="Types of the events recorded, in order.")
    event_ids: list[uuid.UUID]


def queue_item(state: CaseState, now: datetime) -> QueueItem:
    return QueueItem(
        referral_id=state.referral_id,
        status=state.status,
        risk_level=state.risk_level,
        reason_categories=list(state.reason_categories),
        visitor_safety=list(state.visitor_safety),
        force=state.force,
        agency=state.agency,
        area=state.area,
        postcode_district=state.district,
        opened_at=state.opened_at,
        due_by=state.due_by,
        paused_remaining=state.paused_remaining,
        overdue=is_overdue(state, now),
        held=state.held,
        hold_reason=state.hold_reason,
        escalation_reason=state.lifecycle.escalation_reason,
        assigned_to=state.assigned_to,
        outcome=state.outcome,
        cancel_reason=state.cancel_reason,
    )


def pending_entry(envelope: Envelope[Any]) -> TimelineEntry:
    return TimelineEntry(
        event_id=envelope.id,
        type=envelope.type,
        at=envelope.time,
        actor=envelope.actor,
        agency=envelope.agency,
        summary=timeline_summary(envelope.data),
        pending=True,
    )


def detail(
    state: CaseState,
    details: PersonalDetails | None,
    timeline: list[dict[str, Any]],
    pending: Iterable[Envelope[Any]],
    now: datetime,
) -> ReferralDetail:
    """``details``: the referral's sealed details, opened (None once erased);
    ``timeline``: the stored entries in log order; ``pending``: casework's own events not
    yet read back from the log, shown after them."""
    subject = details.subject if details is not None else None
    address = details.address if details is not None else None
    return ReferralDetail(
        **queue_item(state, now).model_dump(),
        isa_version=state.isa_version,
        subject=SubjectView(**subject.model_dump()) if subject is not None else None,
        address=AddressView(
            line1=address.line1, line2=address.line2, town=address.town, postcode=address.postcode
        )
        if address is not None
        else None,
        personal_details_erased_at=state.erased_at,
        amended_at=state.amended_at,
        previous_referral_id=state.previous_referral_id,
        directed_to=state.lifecycle.directed_to,
        contact_attempts=state.contact_attempts,
        visit_attempts=state.visit_attempts,
        visits_completed=state.visits_completed,
        first_contact_at=state.first_contact_at,
        engagement=state.engagement,
        timeline=[
            *(TimelineEntry(**entry) for entry in timeline),
            *(pending_entry(e) for e in pending),
        ],
    )
