"""Intake's decisions and its fold of the referral lifecycle. Pure: the situation (the
incoming event and what intake knows), the time and new ids go in; a decision (what to
store, what to publish) or a Refusal comes out.

``decide`` handles intelligence from police (a submission or a withdrawal) and intake's own
ReferralLinked that landed on the log after its referral had ended. ``evolve`` folds a
referral event into what intake keeps about a referral it opened, with the shared
``lifecycle.evolve``; an event that fold refuses has no effect here either.
"""

import uuid
from dataclasses import replace

from referral_schemas import EventData, PersonalDetails, ReferralLinked, ReferralOpened
from referral_schemas.lifecycle import Refusal
from referral_schemas.lifecycle import evolve as evolve_lifecycle
from referral_schemas.lifecycle_rules import ReferralStatus

from services.intake.contents import Piece, contents_of, link_basis
from services.intake.state import (
    ENDED,
    NOTHING,
    Decision,
    Fresh,
    IntakeStatus,
    LateLink,
    ReferralState,
    Situation,
    Submission,
    Withdrawal,
)
from services.intake.withdrawals import decide_withdrawal


def decide(situation: Situation, fresh: Fresh) -> Decision | Refusal:
    match situation:
        case Submission():
            return _decide_submission(situation, fresh)
        case Withdrawal():
            return decide_withdrawal(situation, fresh.now, fresh.seal)
        case LateLink():
            return _decide_late_link(situation, fresh)


def _decide_submission(submission: Submission, fresh: Fresh) -> Decision | Refusal:
    if submission.already_received:
        return NOTHING
    if submission.withdrawn_before:
        return Refusal(
            "withdrawn_before_submission",
            "the force withdrew this intelligence before submitting it; nothing was opened",
        )
    matches = submission.matches
    return place(submission.piece, matches.live, matches.previous_referral_id, fresh)


def place(
    piece: Piece, live: ReferralState | None, previous: uuid.UUID | None, fresh: Fresh
) -> Decision:
    """Link the piece to the live referral about the same person or address, or open one
    (naming the previous, ended referral about them)."""
    if live is not None and live.status is not IntakeStatus.OPEN:
        live = None  # an ended referral (or one being cancelled) takes no new intelligence
    basis = link_basis(live.contents, piece.match_keys) if live else None
    if live is None or basis is None:
        return _open(replace(piece, link_basis=None), previous, fresh)
    pieces = (*live.pieces, replace(piece, link_basis=basis))
    contents = contents_of(pieces, live.contents.postcode_district)
    linked = replace(live, pieces=pieces, contents=contents)
    event = ReferralLinked(
        referral_id=live.referral_id,
        force=piece.force,
        intelligence_ref=piece.ref,
        link_basis=basis,
        linked_at=fresh.now,
        risk_level=contents.risk_level,
        reason_categories=list(contents.reason_categories),
        visitor_safety=list(contents.visitor_safety),
    )
    return Decision(events=(event,), saves=(linked,))


def _open(piece: Piece, previous: uuid.UUID | None, fresh: Fresh) -> Decision:
    contents = contents_of((piece,))
    assert contents.subject is not None, "a piece to place holds its identity"
    assert contents.address is not None, "a piece to place holds its address"
    state = ReferralState(
        referral_id=fresh.referral_id,
        force=piece.force,
        opened_at=fresh.now,
        status=IntakeStatus.OPEN,
        contents=contents,
        pieces=(piece,),
        previous_referral_id=previous,
    )
    event = ReferralOpened(
        referral_id=fresh.referral_id,
        force=piece.force,
        intelligence_ref=piece.ref,
        isa_version=fresh.isa_version,
        opened_at=fresh.now,
        risk_level=contents.risk_level,
        reason_categories=list(contents.reason_categories),
        personal=fresh.seal(
            fresh.referral_id, PersonalDetails(subject=contents.subject, address=contents.address)
        ),
        postcode_district=contents.postcode_district,
        visitor_safety=list(contents.visitor_safety),
        previous_referral_id=previous,
    )
    return Decision(events=(event,), saves=(state,))


def _decide_late_link(late: LateLink, fresh: Fresh) -> Decision:
    """The referral ended before the link landed: the intelligence gets a referral of its
    own (or joins another live one), naming the ended referral."""
    referral = late.referral
    if referral.lifecycle is None or not referral.lifecycle.ended:
        return NOTHING  # refused for another reason: nothing intake can mend
    piece = referral.piece((late.link.force, late.link.intelligence_ref))
    if piece is None or piece.subject is None:
        return NOTHING  # withdrawn meanwhile (or received before intake kept identities)
    decision = place(piece, late.matches.live, referral.referral_id, fresh)
    left = replace(referral, pieces=referral.without(piece.key))
    return replace(decision, saves=(*decision.saves, left))


_ENDS = {
    ReferralStatus.CLOSED: IntakeStatus.CLOSED,
    ReferralStatus.CANCELLED: IntakeStatus.CANCELLED,
}


def evolve(state: ReferralState, data: EventData) -> ReferralState | Refusal:
    """``state`` after one referral event from the log, or why the event has no effect."""
    folded = evolve_lifecycle(state.lifecycle, data)
    if isinstance(folded, Refusal):
        return folded
    state = replace(state, lifecycle=folded)
    ended = _ENDS.get(folded.status)
    if ended is None or state.status in ENDED:
        return state
    # Identities are no longer needed once it ended, except for pieces whose link has not
    # landed yet: that link will be refused and the piece opens a referral of its own.
    on_log = set(folded.intelligence)
    pieces = tuple(p.forgotten() if p.key in on_log else p for p in state.pieces)
    contents = replace(state.contents, subject=None, address=None)
    return replace(state, status=ended, ended_at=folded.ended_at, pieces=pieces, contents=contents)
