"""What a referral says, computed from the intelligence behind it. Pure.

Each piece of intelligence contributes a person, an address, reason categories and
visitor-safety markers. The referral names the person and address of its first piece (the
one that opened it, or the earliest that remains after withdrawals); its reasons and markers
are the union over all its pieces; its risk is triaged from those reasons, counting the
person as a child if any piece about that same person says so.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from referral_schemas import (
    Address,
    Indicator,
    IntelligenceSubmitted,
    LinkBasis,
    ReferralSubject,
    RiskLevel,
    VisitorSafetyMarker,
    postcode_district,
)

from services.intake.matching import MatchKeys
from services.intake.triage import is_child, triage

T = TypeVar("T")


@dataclass(frozen=True)
class Piece:
    """What one piece of intelligence contributes to its referral."""

    force: str
    ref: str
    event_id: uuid.UUID
    """The IntelligenceSubmitted event it came in."""
    received_at: datetime
    person_key: bytes | None
    address_key: bytes
    subject_is_child: bool
    indicators: tuple[Indicator, ...]
    visitor_safety: tuple[VisitorSafetyMarker, ...]
    subject: ReferralSubject | None
    """Minimised identity; None once nothing can need it any more (withdrawn, or its
    referral ended), and for intelligence received before intake kept it."""
    address: Address | None
    link_basis: LinkBasis | None = None
    """How it joined its referral; None for the piece that opened it."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.force, self.ref)

    @property
    def match_keys(self) -> MatchKeys:
        return MatchKeys(person=self.person_key, address=self.address_key)

    def forgotten(self) -> "Piece":
        """Without personal data."""
        return replace(self, subject=None, address=None)


def piece_of(
    intel: IntelligenceSubmitted, keys: MatchKeys, *, event_id: uuid.UUID, received_at: datetime
) -> Piece:
    return Piece(
        force=intel.force,
        ref=intel.intelligence_ref,
        event_id=event_id,
        received_at=received_at,
        person_key=keys.person,
        address_key=keys.address,
        subject_is_child=is_child(intel.subject.date_of_birth, intel.recorded_at.date()),
        indicators=tuple(intel.indicators),
        visitor_safety=tuple(intel.visitor_safety),
        subject=ReferralSubject(
            given_name=intel.subject.given_name,
            family_name=intel.subject.family_name,
            date_of_birth=intel.subject.date_of_birth,
            phone=intel.subject.phone,
        ),
        address=intel.address,
    )


@dataclass(frozen=True)
class Contents:
    """What the referral says (and what intake matches new intelligence against)."""

    person_key: bytes | None
    address_key: bytes
    postcode_district: str
    subject_is_child: bool
    risk_level: RiskLevel
    reason_categories: tuple[Indicator, ...]
    visitor_safety: tuple[VisitorSafetyMarker, ...]
    subject: ReferralSubject | None
    """None when intake no longer holds (or never held) the lead piece's identity."""
    address: Address | None


def _union(groups: Sequence[Sequence[T]]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


def _same_person(piece: Piece, lead: Piece) -> bool:
    return piece is lead or (piece.person_key is not None and piece.person_key == lead.person_key)


def contents_of(pieces: Sequence[Piece], district: str | None = None) -> Contents:
    """The referral computed from its pieces (at least one), first piece leading.

    ``district`` is the referral's known district, used only when the lead piece's address
    is no longer held (the district is not personal data and is kept on the referral)."""
    lead = pieces[0]
    child = any(p.subject_is_child for p in pieces if _same_person(p, lead))
    categories = _union([p.indicators for p in pieces])
    if lead.address is not None:
        district = postcode_district(lead.address.postcode)
    assert district is not None, "a referral always knows its district"
    return Contents(
        person_key=lead.person_key,
        address_key=lead.address_key,
        postcode_district=district,
        subject_is_child=child,
        risk_level=triage(categories, child),
        reason_categories=categories,
        visitor_safety=_union([p.visitor_safety for p in pieces]),
        subject=lead.subject,
        address=lead.address,
    )


def link_basis(contents: Contents, keys: MatchKeys) -> LinkBasis | None:
    """What new intelligence has in common with a referral, if anything."""
    same_person = keys.person is not None and contents.person_key == keys.person
    same_address = contents.address_key == keys.address
    if same_person and same_address:
        return LinkBasis.SAME_PERSON_AND_ADDRESS
    if same_person:
        return LinkBasis.SAME_PERSON
    if same_address:
        return LinkBasis.SAME_ADDRESS
    return None
