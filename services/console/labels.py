"""Words for the codes the services use, and dates as people in the UK read them. Pure."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")

_WORDS = {
    # statuses
    "opened": "Opened, not yet routed",
    "awaiting_acceptance": "Awaiting acceptance",
    "rerouting": "Being offered to another agency",
    "escalated": "Escalated to police",
    "accepted": "Accepted",
    "completed": "Completed",
    "closed": "Closed",
    "cancelled": "Cancelled",
    # roles
    "support_worker": "Support worker",
    "agency_lead": "Agency lead",
    "police_coordinator": "Police referral coordinator",
    "auditor": "Auditor",
    "programme_manager": "Programme manager",
    # agencies and forces of the Cumbria deployment
    "twc-barrow": "The Well Communities, Barrow",
    "twc-carlisle": "The Well Communities, Carlisle",
    "cumbria-recovery-south": "South Cumbria Recovery Service",
    "cumbria": "Cumbria Constabulary",
    # areas
    "barrow": "Barrow-in-Furness",
    "kendal": "Kendal",
    "carlisle": "Carlisle",
    # visitor-safety markers
    "aggressive_dogs": "Aggressive dogs",
    "weapons_at_address": "Weapons at the address",
    "violence_towards_staff": "Violence towards staff",
    "gang_members_frequent_address": "Gang members frequent the address",
    "drug_use_at_address": "Drug use at the address",
    "needles_at_address": "Needles at the address",
    "do_not_visit_alone": "Do not visit alone",
    # event types
    "ReferralOpened": "Referral opened",
    "ReferralLinked": "New intelligence linked",
    "ReferralRouted": "Routed to agency",
    "ReferralRerouted": "Rerouted",
    "ReferralEscalated": "Escalated to police",
    "SlaBreached": "Acceptance deadline reached",
    "OfferExpired": "Offer expired: deadline missed",
    "ReferralDirected": "Directed to an agency by police",
    "EscalationClosed": "Closed by police",
    "ReferralAmended": "Amended: intelligence withdrawn",
    "CancellationRequested": "Cancellation requested",
    "ReferralAccepted": "Accepted",
    "ReferralDeclined": "Declined",
    "ReferralAssigned": "Assigned",
    "ContactAttempted": "Contact attempted",
    "VisitAttempted": "Visit attempted",
    "VisitCompleted": "Visit completed",
    "EngagementRecorded": "Engagement recorded",
    "ReferralHeld": "Police hold placed",
    "ReferralResumed": "Police hold lifted",
    "ReferralCompleted": "Completed",
    "ReferralClosed": "Closed",
    "ReferralCancelled": "Cancelled",
    "ReferralConsulted": "Consulted",
    "ErasureRequested": "Erasure requested",
    "PersonalDataErased": "Personal details erased",
    "IntelligenceSubmitted": "Intelligence received",
    "IntelligenceWithdrawn": "Intelligence withdrawn",
    "OutcomeReported": "Outcome reported to police",
    # timeline fields
    "to_agency": "To",
    "from_agency": "From",
    "due_by": "Deadline",
    "risk_level": "Risk",
    "reason_categories": "Reasons",
    "visitor_safety": "Safety markers",
    "link_basis": "Linked by",
    "withdrawal_reason": "Withdrawn because",
    # why an event had no effect where it landed
    "referral_cancelled": "the referral was already cancelled",
    "referral_closed": "the referral was already closed",
    "wrong_status": "not possible at that stage",
    "wrong_agency": "the referral was not with that agency",
    "stale_deadline": "that deadline was no longer running",
    "referral_held": "the referral was on a police hold",
    "already_held": "the referral was already on hold",
    "not_held": "the referral was not on hold",
    "already_opened": "the referral was already open",
    "not_directed_agency": "police directed it to another agency",
}


def word(code: object) -> str:
    """A label for a code; unknown codes read as words ('no_answer' -> 'No answer')."""
    if code is None or code == "":
        return "—"
    text = str(code)
    if text in _WORDS:
        return _WORDS[text]
    return text.replace("_", " ").replace("-", " ").capitalize()


def duration(value: timedelta | None) -> str:
    """'8 hours', '2 days': a span of time such as what is left on a paused deadline."""
    if value is None:
        return "—"
    return relative(datetime.min + value, datetime.min).removeprefix("in ")


def when(value: datetime | None) -> str:
    """'Tue 3 Jun 2025, 14:05' in UK time."""
    if value is None:
        return "—"
    local = value.astimezone(UK)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def when_exact(value: datetime | None) -> str:
    """'Tue 3 Jun 2025, 14:05:09' in UK time, for the audit pages."""
    if value is None:
        return "—"
    local = value.astimezone(UK)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M:%S}"


def party(text: str | None) -> str:
    """A recipient or purpose such as 'agency:twc-barrow' or 'isa:cumbria-isa-v1'."""
    if not text:
        return "—"
    kind, _, code = text.partition(":")
    if not code:
        return word(text)
    if kind in ("agency", "force"):
        return f"{word(code)} ({kind})"
    return text


def day(value: date | None) -> str:
    if value is None:
        return "—"
    return f"{value.day} {value:%b %Y}"


def relative(value: datetime | None, now: datetime) -> str:
    """'in 5 hours', '2 days ago': how far a deadline is from now."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    if span < 3600:
        amount, unit = max(1, round(span / 60)), "minute"
    elif span < 2 * 86400:
        amount, unit = round(span / 3600), "hour"
    else:
        amount, unit = round(span / 86400), "day"
    text = f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def short_id(referral_id: object) -> str:
    """The first 8 characters of a referral id, as staff quote it on the phone."""
    return str(referral_id)[:8].upper()


_VERBATIM = frozenset({"by", "worker"})


def summary_value(name: str, value: object) -> str:
    """One field of a timeline entry: user ids verbatim, codes as words, times in UK time."""
    if name in _VERBATIM:
        return str(value)
    if isinstance(value, list):
        return ", ".join(word(item) for item in value) or "—"
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return word(value)
