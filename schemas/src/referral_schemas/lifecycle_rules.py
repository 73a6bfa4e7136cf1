"""The referral lifecycle's transition table: which event may land in which status, who may
publish it, and the status it leads to. Data only; ``lifecycle.evolve`` applies it.

docs/lifecycle-contract.md prints the same table (a contract test keeps them equal).
"""

from dataclasses import dataclass
from enum import StrEnum


class ReferralStatus(StrEnum):
    """Where a referral is in its life. The same word in every service."""

    OPENED = "opened"
    """Opened by intake (or directed by a police coordinator); routing is to offer it."""
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    """Offered to one agency; its acceptance deadline runs unless the referral is held."""
    REROUTING = "rerouting"
    """The last agency declined or let the deadline pass; routing moves it on."""
    ESCALATED = "escalated"
    """No agency could take it; the police coordinator resolves it."""
    ACCEPTED = "accepted"
    """An agency is working it."""
    COMPLETED = "completed"
    """The agency recorded an outcome; closing it is the last step."""
    CLOSED = "closed"
    """Ended with an outcome. Terminal."""
    CANCELLED = "cancelled"
    """Ended without being worked to an outcome (e.g. intelligence withdrawn). Terminal."""


S = ReferralStatus
TERMINAL = frozenset({S.CLOSED, S.CANCELLED})
"""Nothing changes a referral in these statuses, ever."""
OPEN = frozenset(S) - TERMINAL
BEFORE_ACCEPTANCE = frozenset({S.OPENED, S.AWAITING_ACCEPTANCE, S.REROUTING, S.ESCALATED})
HOLDS_AGENCY = frozenset({S.AWAITING_ACCEPTANCE, S.ACCEPTED, S.COMPLETED})
"""A referral in these statuses counts against its agency's capacity."""


class Producer(StrEnum):
    """The service allowed to publish an event type on referral.events."""

    INTAKE = "intake"
    ROUTING = "routing"
    CASEWORK = "casework"


@dataclass(frozen=True)
class Rule:
    """When an event has an effect, and what that effect is on the status."""

    producer: Producer
    valid_in: frozenset[ReferralStatus]
    leads_to: ReferralStatus | None
    """The status afterwards; None keeps the status (data, proposals, holds)."""
    same_agency: bool = False
    """The event names an agency, which must be the one the referral is offered to or
    accepted by."""
    not_while_held: bool = False
    """A police hold means "do not approach": the event has no effect while held."""
    proposal: bool = False
    """A proposal to the owner (casework), who decides; it changes nothing by itself."""


_AGENCY_WORK = frozenset({S.ACCEPTED})


def _work(leads_to: ReferralStatus | None = None) -> Rule:
    return Rule(Producer.CASEWORK, _AGENCY_WORK, leads_to, same_agency=True, not_while_held=True)


def _offer_answer(leads_to: ReferralStatus) -> Rule:
    return Rule(
        Producer.CASEWORK,
        frozenset({S.AWAITING_ACCEPTANCE}),
        leads_to,
        same_agency=True,
        not_while_held=True,
    )


RULES: dict[str, Rule] = {
    # ReferralOpened is the first event; it is valid only for a referral not seen before.
    "ReferralLinked": Rule(Producer.INTAKE, OPEN, None),
    "ReferralAmended": Rule(Producer.INTAKE, OPEN, None),
    "CancellationRequested": Rule(Producer.INTAKE, OPEN, None, proposal=True),
    "ReferralRouted": Rule(
        Producer.ROUTING, frozenset({S.OPENED, S.ESCALATED}), S.AWAITING_ACCEPTANCE
    ),
    "ReferralRerouted": Rule(Producer.ROUTING, frozenset({S.REROUTING}), S.AWAITING_ACCEPTANCE),
    "ReferralEscalated": Rule(Producer.ROUTING, frozenset({S.OPENED, S.REROUTING}), S.ESCALATED),
    "SlaBreached": Rule(
        Producer.ROUTING,
        frozenset({S.AWAITING_ACCEPTANCE}),
        None,
        same_agency=True,
        not_while_held=True,
        proposal=True,
    ),
    "OfferExpired": _offer_answer(S.REROUTING),
    "ReferralAccepted": _offer_answer(S.ACCEPTED),
    "ReferralDeclined": _offer_answer(S.REROUTING),
    "ReferralAssigned": _work(),
    "ContactAttempted": _work(),
    "VisitAttempted": _work(),
    "VisitCompleted": _work(),
    "EngagementRecorded": _work(),
    "ReferralCompleted": _work(S.COMPLETED),
    "ReferralClosed": Rule(
        Producer.CASEWORK, frozenset({S.COMPLETED}), S.CLOSED, same_agency=True, not_while_held=True
    ),
    "ReferralHeld": Rule(Producer.CASEWORK, OPEN, None),
    "ReferralResumed": Rule(Producer.CASEWORK, OPEN, None),
    "ReferralCancelled": Rule(Producer.CASEWORK, OPEN, S.CANCELLED),
    "ReferralDirected": Rule(Producer.CASEWORK, BEFORE_ACCEPTANCE, S.OPENED),
    "EscalationClosed": Rule(Producer.CASEWORK, BEFORE_ACCEPTANCE, S.CLOSED),
}
"""Every referral event after ReferralOpened, by event type."""

OPENING_EVENT = "ReferralOpened"
OPENING_PRODUCER = Producer.INTAKE
LIFECYCLE_EVENT_TYPES = frozenset({OPENING_EVENT, *RULES})
"""Every event type the lifecycle folds."""
