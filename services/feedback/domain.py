"""feedback's decisions. Pure: a referral's feedback state and one referral event go in;
the new state and, the moment the referral ends, the one OutcomeReported come out.

The referral's lifecycle is the shared one (``referral_schemas.lifecycle``), folded in log
order: an event ``lifecycle.evolve`` refuses (it landed where it has no effect) changes
nothing here either. So a referral cancelled and then resurrected by a late ReferralRouted
stays cancelled and reports once, as cancelled; what police are told, and when, comes from
``reports_to_police`` and ``police_outcome``, the one definition every service shares.

What police may get back is decided here and only here: their own intelligence references,
the outcome, the dates (opened, first contact, closed) and the agency. Nothing of the support
work itself (visit notes, engagement, workers, personal data) is kept or reported.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from referral_schemas import EventData, OutcomeReported
from referral_schemas.lifecycle import (
    Lifecycle,
    Refusal,
    police_outcome,
    reports_to_police,
)
from referral_schemas.lifecycle import evolve as evolve_lifecycle
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES


@dataclass(frozen=True)
class FeedbackState:
    """What feedback keeps about one referral: its lifecycle, the references police raised
    for it, and whether it was reported. No personal data, no casework detail."""

    referral_id: uuid.UUID
    lifecycle: Lifecycle | None = None
    """The shared lifecycle (None until ReferralOpened), without the worker it was assigned
    to: who works a referral is casework detail police never get."""
    raised: tuple[tuple[str, str], ...] = ()
    """(force, reference) of every piece of intelligence that was ever behind the referral,
    in the order received, withdrawn ones included (see ``intelligence_refs``)."""
    reported_at: datetime | None = None

    @property
    def intelligence_refs(self) -> list[str]:
        """The references the opening force raised for this referral, withdrawn ones included.

        ``Lifecycle.intelligence`` holds only what remains after withdrawals; police get more:
        every reference of theirs the referral was opened or linked for. The report closes
        the loop on each record the force holds (a withdrawn one included: the referral it
        fed was acted on, and the force must be able to find that from the reference), it
        is the force's own data going back to the force (nothing is disclosed), and a
        referral cancelled because everything was withdrawn still has references to report
        (OutcomeReported needs at least one). Another force's references are not this
        force's business and are left out."""
        force = None if self.lifecycle is None else self.lifecycle.force
        refs = [ref for owner, ref in self.raised if owner == force]
        return list(dict.fromkeys(refs))


@dataclass(frozen=True)
class Decision:
    state: FeedbackState
    report: OutcomeReported | None = None
    refusal: Refusal | None = None
    """Why the event had no effect (the state is unchanged), if it had none."""


def tracks(data: EventData) -> bool:
    """Every referral lifecycle event; anything else on the topic is not feedback's."""
    return data.EVENT_TYPE in LIFECYCLE_EVENT_TYPES


def evolve(state: FeedbackState, data: EventData) -> FeedbackState | Refusal:
    """The state after one referral event in log order, or why it has no effect."""
    result = evolve_lifecycle(state.lifecycle, data)
    if isinstance(result, Refusal):
        return result
    raised = tuple(dict.fromkeys((*state.raised, *result.intelligence)))
    return replace(state, lifecycle=replace(result, assigned_to=None), raised=raised)


def _report(state: FeedbackState, lifecycle: Lifecycle, now: datetime) -> OutcomeReported:
    outcome = police_outcome(lifecycle)
    assert outcome is not None, "an ended referral has an outcome for police"
    assert lifecycle.ended_at is not None, "an ended referral has an end time"
    return OutcomeReported(
        referral_id=state.referral_id,
        force=lifecycle.force,
        intelligence_refs=state.intelligence_refs,
        outcome=outcome,
        agency=lifecycle.tried[-1] if lifecycle.tried else None,
        opened_at=lifecycle.opened_at,
        first_contact_at=lifecycle.first_contact_at,
        closed_at=lifecycle.ended_at,
        reported_at=now,
    )


def decide(state: FeedbackState, data: EventData, *, now: datetime) -> Decision:
    """Fold one event; report the outcome the first time ``reports_to_police`` holds.

    It holds from the event that ends a referral that had reached an agency or the police
    coordinator (routed or escalated), and the ended lifecycle refuses every later event,
    so at most one report is ever made; ``reported_at`` makes that explicit. A referral
    cancelled before it reached anyone is not reported: nothing happened police do not know.
    """
    folded = evolve(state, data)
    if isinstance(folded, Refusal):
        return Decision(state, refusal=folded)
    lifecycle = folded.lifecycle
    if folded.reported_at is not None or lifecycle is None or not reports_to_police(lifecycle):
        return Decision(folded)
    return Decision(replace(folded, reported_at=now), _report(folded, lifecycle, now))
