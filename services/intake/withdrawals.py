"""What a withdrawal of intelligence does to its referral. Pure.

A referral lives on the intelligence behind it. When some of it is withdrawn, the referral is
recomputed from what remains (ReferralAmended); when none remains, intake asks casework, the
owner of cancellation, to cancel it (CancellationRequested), giving the reason the force's
withdrawal maps to. A referral that has ended stays as it ended.
"""

from dataclasses import replace
from datetime import datetime

from referral_schemas import (
    CancellationRequested,
    IntelligenceWithdrawn,
    PersonalDetails,
    ReferralAmended,
)
from referral_schemas.referral_v1 import cancellation_reason_for

from services.intake.contents import Piece, contents_of
from services.intake.state import (
    NOTHING,
    Decision,
    IntakeStatus,
    ReferralState,
    Seal,
    Withdrawal,
)


def decide_withdrawal(situation: Withdrawal, now: datetime, seal: Seal) -> Decision:
    withdrawal = situation.withdrawal
    referral = situation.referral
    if not situation.received:
        return Decision(remember=withdrawal)
    if referral is None:
        return NOTHING  # withdrawn before: a resend
    key = (withdrawal.force, withdrawal.intelligence_ref)
    if referral.status is not IntakeStatus.OPEN or referral.piece(key) is None:
        return Decision(withdraw=withdrawal)  # it ended (or is ending): nothing to change
    remaining = referral.without(key)
    if not remaining:
        return _request_cancellation(referral, withdrawal, now)
    return _amend(referral, remaining, withdrawal, now, seal)


def _request_cancellation(
    referral: ReferralState, withdrawal: IntelligenceWithdrawn, now: datetime
) -> Decision:
    asked = replace(
        referral,
        status=IntakeStatus.CANCELLATION_REQUESTED,
        pieces=(),
        ended_at=now,
        contents=replace(referral.contents, subject=None, address=None),
    )
    event = CancellationRequested(
        referral_id=referral.referral_id,
        reason=cancellation_reason_for(withdrawal.reason),
        withdrawal_reason=withdrawal.reason,
        withdrawn_intelligence_refs=[withdrawal.intelligence_ref],
        requested_at=now,
    )
    return Decision(events=(event,), saves=(asked,), withdraw=withdrawal)


def _amend(
    referral: ReferralState,
    remaining: tuple[Piece, ...],
    withdrawal: IntelligenceWithdrawn,
    now: datetime,
    seal: Seal,
) -> Decision:
    contents = contents_of(remaining, referral.contents.postcode_district)
    amended = replace(referral, pieces=remaining, contents=contents)
    if contents.subject is None or contents.address is None:
        # The remaining lead came before intake kept identities: it cannot name the person
        # to visit, so the referral stays as the agency knows it.
        return Decision(saves=(amended,), withdraw=withdrawal)
    event = ReferralAmended(
        referral_id=referral.referral_id,
        withdrawn_force=withdrawal.force,
        withdrawn_intelligence_ref=withdrawal.intelligence_ref,
        withdrawal_reason=withdrawal.reason,
        amended_at=now,
        risk_level=contents.risk_level,
        reason_categories=list(contents.reason_categories),
        visitor_safety=list(contents.visitor_safety),
        personal=seal(
            referral.referral_id,
            PersonalDetails(subject=contents.subject, address=contents.address),
        ),
        postcode_district=contents.postcode_district,
    )
    return Decision(events=(event,), saves=(amended,), withdraw=withdrawal)
