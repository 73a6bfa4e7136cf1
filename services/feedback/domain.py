"""feedback's decisions. Pure: a referral's feedback state and one referral event go in;
the new state and, once the referral has ended, the one OutcomeReported come out.

What police may get back is decided here and only here: their own intelligence references,
the outcome, the dates (opened, first contact, closed) and the agency. Nothing of the support
work itself (no visit notes, engagement, workers or personal data) is kept or reported.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from referral_schemas import (
    CancellationReason,
    ContactAttempted,
    ContactResult,
    EventData,
    Outcome,
    OutcomeReported,
    ReferralCancelled,
    ReferralClosed,
    ReferralLinked,
    ReferralOpened,
    ReferralRerouted,
    ReferralRouted,
    VisitCompleted,
)

# Which cancellations the force hears about, and as what outcome.
# - intelligence_withdrawn: the force withdrew its own intelligence; telling it back is noise.
# - duplicate: the referral it duplicated reports; a second report would double-count.
# - no_longer_required: no outcome in the closed set says this truthfully; inventing one
#   would mislead the force's figures (a contract gap, flagged to the schema owner).
# - moved_away: the force needs to know the person left (to pass the intelligence on).
CANCELLATION_OUTCOMES: dict[CancellationReason, Outcome | None] = {
    CancellationReason.INTELLIGENCE_WITHDRAWN: None,
    CancellationReason.DUPLICATE: None,
    CancellationReason.NO_LONGER_REQUIRED: None,
    CancellationReason.MOVED_AWAY: Outcome.MOVED_OUT_OF_AREA,
}

TRACKED: tuple[type[EventData], ...] = (
    ReferralOpened,
    ReferralLinked,
    ReferralRouted,
    ReferralRerouted,
    ContactAttempted,
    VisitCompleted,
    ReferralClosed,
    ReferralCancelled,
)
"""The events feedback folds; every other referral event is ignored."""


@dataclass(frozen=True)
class FeedbackState:
    """What feedback keeps about one referral: no personal data, no casework detail."""

    referral_id: uuid.UUID
    force: str | None = None
    intelligence: tuple[tuple[str, str], ...] = ()
    """(force, reference) of every intelligence in the referral, in the order received."""
    opened_at: datetime | None = None
    first_contact_at: datetime | None = None
    """When the agency first reached the person (as OutcomeReported defines it): a contact
    attempt where it spoke to them, or a completed visit; unanswered attempts do not count."""
    agency: str | None = None
    """The agency that last held the referral."""
    ended_at: datetime | None = None
    """When it was closed or cancelled; later events change nothing."""
    outcome: Outcome | None = None
    """What to report; None for an ended referral the force is not told about."""
    reported_at: datetime | None = None

    @property
    def intelligence_refs(self) -> list[str]:
        """The opening force's references only: another force's are not this force's business."""
        refs = [ref for force, ref in self.intelligence if force == self.force]
        return list(dict.fromkeys(refs))


@dataclass(frozen=True)
class Decision:
    state: FeedbackState
    report: OutcomeReported | None


def tracks(data: EventData) -> bool:
    return isinstance(data, TRACKED)


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _fold(state: FeedbackState, data: EventData) -> FeedbackState:
    """The state after one event. Events may arrive in any order (a close can precede the
    open it follows if a producer misbehaved); the report waits until both are known."""
    match data:
        case ReferralOpened():
            intelligence = ((data.force, data.intelligence_ref), *state.intelligence)
            return replace(
                state,
                force=data.force,
                opened_at=data.opened_at,
                intelligence=tuple(dict.fromkeys(intelligence)),
            )
        case ReferralLinked():
            intelligence = (*state.intelligence, (data.force, data.intelligence_ref))
            return replace(state, intelligence=tuple(dict.fromkeys(intelligence)))
        case ReferralRouted():
            return replace(state, agency=data.agency)
        case ReferralRerouted():
            return replace(state, agency=data.to_agency)
        case ContactAttempted() if data.result is ContactResult.SPOKE_TO_PERSON:
            return replace(
                state, first_contact_at=_earliest(state.first_contact_at, data.attempted_at)
            )
        case VisitCompleted():
            return replace(
                state, first_contact_at=_earliest(state.first_contact_at, data.visited_at)
            )
        case ReferralClosed():
            if state.ended_at is not None:
                return state
            return replace(state, agency=data.agency, outcome=data.outcome, ended_at=data.closed_at)
        case ReferralCancelled():
            if state.ended_at is not None:
                return state
            outcome = CANCELLATION_OUTCOMES.get(data.reason)
            return replace(state, outcome=outcome, ended_at=data.cancelled_at)
    return state


def _report(state: FeedbackState, now: datetime) -> OutcomeReported | None:
    refs = state.intelligence_refs
    if (
        state.reported_at is not None
        or state.outcome is None
        or state.ended_at is None
        or state.force is None
        or state.opened_at is None
        or not refs
    ):
        return None
    return OutcomeReported(
        referral_id=state.referral_id,
        force=state.force,
        intelligence_refs=refs,
        outcome=state.outcome,
        agency=state.agency,
        opened_at=state.opened_at,
        first_contact_at=state.first_contact_at,
        closed_at=state.ended_at,
        reported_at=now,
    )


def decide(state: FeedbackState, data: EventData, *, now: datetime) -> Decision:
    """Fold one event; report the outcome the first time the referral has ended and is known.

    Once reported, nothing is reported again, whatever arrives (a resent close included).
    """
    if state.reported_at is not None:
        return Decision(state, None)
    folded = _fold(state, data)
    report = _report(folded, now)
    if report is not None:
        folded = replace(folded, reported_at=now)
    return Decision(folded, report)
