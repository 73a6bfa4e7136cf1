"""Intake's decisions. Pure: state, the incoming event, the time and new ids go in;
a decision (what to store, what to publish) comes out."""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from referral_schemas import (
    CancellationReason,
    Indicator,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    LinkBasis,
    ReferralCancelled,
    ReferralLinked,
    ReferralOpened,
    ReferralSubject,
    VisitorSafetyMarker,
    postcode_district,
)

from services.intake.matching import MatchKeys
from services.intake.triage import is_child, triage

T = TypeVar("T")


@dataclass(frozen=True)
class ReferralState:
    """What intake keeps about a referral it opened."""

    referral_id: uuid.UUID
    force: str
    open: bool
    subject_is_child: bool
    reason_categories: tuple[Indicator, ...]
    visitor_safety: tuple[VisitorSafetyMarker, ...]
    person_key: bytes | None
    address_key: bytes
    postcode_district: str
    risk_level: str
    active_intelligence: tuple[str, ...]
    """References (``force:ref``) of intelligence behind it that is not withdrawn."""


@dataclass(frozen=True)
class Opened:
    referral: ReferralState
    event: ReferralOpened


@dataclass(frozen=True)
class Linked:
    referral: ReferralState
    event: ReferralLinked


@dataclass(frozen=True)
class Withdrawn:
    referral: ReferralState
    event: ReferralCancelled | None
    """None while other intelligence still supports the referral."""


def _union(old: tuple[T, ...], new: list[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys([*old, *new]))


def link_basis(referral: ReferralState, keys: MatchKeys) -> LinkBasis | None:
    same_person = keys.person is not None and referral.person_key == keys.person
    same_address = referral.address_key == keys.address
    if same_person and same_address:
        return LinkBasis.SAME_PERSON_AND_ADDRESS
    if same_person:
        return LinkBasis.SAME_PERSON
    if same_address:
        return LinkBasis.SAME_ADDRESS
    return None


def open_referral(
    intel: IntelligenceSubmitted,
    keys: MatchKeys,
    *,
    referral_id: uuid.UUID,
    now: datetime,
    isa_version: str,
) -> Opened:
    child = is_child(intel.subject.date_of_birth, intel.recorded_at.date())
    risk = triage(intel.indicators, child)
    district = postcode_district(intel.address.postcode)
    state = ReferralState(
        referral_id=referral_id,
        force=intel.force,
        open=True,
        subject_is_child=child,
        reason_categories=tuple(intel.indicators),
        visitor_safety=tuple(intel.visitor_safety),
        person_key=keys.person,
        address_key=keys.address,
        postcode_district=district,
        risk_level=risk.value,
        active_intelligence=(f"{intel.force}:{intel.intelligence_ref}",),
    )
    subject = ReferralSubject(
        given_name=intel.subject.given_name,
        family_name=intel.subject.family_name,
        date_of_birth=intel.subject.date_of_birth,
        phone=intel.subject.phone,
    )
    event = ReferralOpened(
        referral_id=referral_id,
        force=intel.force,
        intelligence_ref=intel.intelligence_ref,
        isa_version=isa_version,
        opened_at=now,
        risk_level=risk,
        reason_categories=list(intel.indicators),
        subject=subject,
        address=intel.address,
        postcode_district=district,
        visitor_safety=list(intel.visitor_safety),
    )
    return Opened(state, event)


def link_to(
    referral: ReferralState, intel: IntelligenceSubmitted, basis: LinkBasis, *, now: datetime
) -> Linked:
    child = referral.subject_is_child or (
        basis is not LinkBasis.SAME_ADDRESS
        and is_child(intel.subject.date_of_birth, intel.recorded_at.date())
    )
    categories = _union(referral.reason_categories, list(intel.indicators))
    markers = _union(referral.visitor_safety, list(intel.visitor_safety))
    risk = triage(categories, child)
    state = replace(
        referral,
        subject_is_child=child,
        reason_categories=categories,
        visitor_safety=markers,
        risk_level=risk.value,
        active_intelligence=_union(
            referral.active_intelligence, [f"{intel.force}:{intel.intelligence_ref}"]
        ),
    )
    event = ReferralLinked(
        referral_id=referral.referral_id,
        force=intel.force,
        intelligence_ref=intel.intelligence_ref,
        link_basis=basis,
        linked_at=now,
        risk_level=risk,
        reason_categories=list(categories),
        visitor_safety=list(markers),
    )
    return Linked(state, event)


def withdraw(
    referral: ReferralState, withdrawal: IntelligenceWithdrawn, *, now: datetime
) -> Withdrawn:
    ref = f"{withdrawal.force}:{withdrawal.intelligence_ref}"
    remaining = tuple(r for r in referral.active_intelligence if r != ref)
    if remaining or not referral.open:
        return Withdrawn(replace(referral, active_intelligence=remaining), None)
    event = ReferralCancelled(
        referral_id=referral.referral_id,
        reason=CancellationReason.INTELLIGENCE_WITHDRAWN,
        cancelled_at=now,
        withdrawn_intelligence_refs=[withdrawal.intelligence_ref],
    )
    return Withdrawn(replace(referral, open=False, active_intelligence=remaining), event)
