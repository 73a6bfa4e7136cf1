"""What intake keeps about a referral, and the situations it decides in. Data only."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from referral_schemas import (
    EventData,
    IntelligenceWithdrawn,
    PersonalDetails,
    ReferralLinked,
    SealedPersonal,
)
from referral_schemas.lifecycle import Lifecycle

from services.intake.contents import Contents, Piece


class IntakeStatus(StrEnum):
    OPEN = "open"
    """New intelligence about its person or address links to it."""
    CANCELLATION_REQUESTED = "cancellation_requested"
    """All its intelligence was withdrawn; casework, the owner, cancels it."""
    CLOSED = "closed"
    """Ended with an outcome (folded from the log)."""
    CANCELLED = "cancelled"
    """Ended without one (folded from the log)."""


ENDED = frozenset({IntakeStatus.CLOSED, IntakeStatus.CANCELLED})


@dataclass(frozen=True)
class ReferralState:
    """What intake keeps about a referral it opened."""

    referral_id: uuid.UUID
    force: str
    opened_at: datetime
    status: IntakeStatus
    contents: Contents
    pieces: tuple[Piece, ...]
    """The intelligence behind it that is not withdrawn, the lead first."""
    previous_referral_id: uuid.UUID | None = None
    ended_at: datetime | None = None
    """When it ended, or when intake asked for its cancellation."""
    lifecycle: Lifecycle | None = None
    """Folded from referral.events; None until intake reads its own ReferralOpened back."""

    def piece(self, key: tuple[str, str]) -> Piece | None:
        return next((p for p in self.pieces if p.key == key), None)

    def without(self, key: tuple[str, str]) -> tuple[Piece, ...]:
        return tuple(p for p in self.pieces if p.key != key)


@dataclass(frozen=True)
class Decision:
    """What to store and publish. Events go to referral.events, keyed by referral id."""

    events: tuple[EventData, ...] = ()
    saves: tuple[ReferralState, ...] = ()
    """Referral states to store, in this order (a referral before pieces moved into it)."""
    withdraw: IntelligenceWithdrawn | None = None
    """Record this intelligence as withdrawn and erase its personal data."""
    remember: IntelligenceWithdrawn | None = None
    """A withdrawal of intelligence not received yet, held against its submission."""


NOTHING = Decision()


@dataclass(frozen=True)
class Matches:
    """Referrals about the same person or address as a piece of intelligence."""

    live: ReferralState | None
    """An open referral (same person preferred), locked by the caller."""
    previous_referral_id: uuid.UUID | None
    """The most recent referral about them that ended (or whose cancellation intake asked
    for); a new referral names it."""


@dataclass(frozen=True)
class Submission:
    piece: Piece
    already_received: bool
    """The same force and reference came before (a resend): nothing changes."""
    withdrawn_before: bool
    """Its withdrawal arrived first."""
    matches: Matches


@dataclass(frozen=True)
class Withdrawal:
    withdrawal: IntelligenceWithdrawn
    received: bool
    """Intake received the intelligence it withdraws."""
    referral: ReferralState | None
    """The referral the intelligence is behind; None if it was already withdrawn."""


@dataclass(frozen=True)
class LateLink:
    """Intake's ReferralLinked, refused where it landed on the log."""

    link: ReferralLinked
    referral: ReferralState
    """The referral it was meant to join, as intake keeps it."""
    matches: Matches
    """For the linked intelligence, now that referral has ended."""


Seal = Callable[[uuid.UUID, PersonalDetails], SealedPersonal]
"""Seals a referral's details: (referral id, details) -> what the event carries."""


@dataclass(frozen=True)
class Fresh:
    """What the handler hands in: the time, an id for a referral this may open, and the
    seal for the person's details an event carries (a new data key each time, kept by the
    handler in the keyring in the same transaction: services.runtime.sealing)."""

    now: datetime
    referral_id: uuid.UUID
    isa_version: str
    seal: Seal


Situation = Submission | Withdrawal | LateLink
