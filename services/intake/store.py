"""Where intake keeps what it knows: the ``IntakeStore`` seam its handlers and jobs use.

Two implementations: ``PgIntakeStore`` (services/intake/pg_store.py, on the consumer shell's
connection and inside its transaction) and ``InMemoryIntakeStore``
(services/intake/memory_store.py, for fast tests). One contract suite
(tests/integration/test_intake_store_contract.py) runs against both.

What is kept: referrals by keyed hashes of person and address (never a name or an address);
each piece of intelligence with the minimised identity it carried until it is withdrawn, its
referral ends or is erased; withdrawals that came before their intelligence; and the
referrals' wrapped data keys (the keyring).

Lock order, the same in every handler so two never wait on each other: an intelligence
row, then the match keys, then referral rows.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from referral_schemas import IntelligenceWithdrawn

from services.intake.matching import MatchKeys
from services.intake.state import ReferralState
from services.runtime.sealing import WrappedKey


@dataclass(frozen=True)
class IntelligenceRow:
    """A piece of intelligence as received: which referral it is behind, and its keys."""

    referral_id: uuid.UUID
    status: str
    person_key: bytes | None
    address_key: bytes

    @property
    def active(self) -> bool:
        return self.status == "active"


class IntakeStore(Protocol):
    async def find_intelligence(self, force: str, ref: str) -> IntelligenceRow | None:
        """The piece received with this force and reference (locked), if any."""

    async def withdrawn_before(self, force: str, ref: str) -> bool:
        """Whether a withdrawal of it came before it."""

    async def remember_withdrawal(
        self, withdrawal: IntelligenceWithdrawn, event_id: uuid.UUID, now: datetime
    ) -> None:
        """Hold a withdrawal of intelligence not received yet (a second one changes nothing)."""

    async def mark_withdrawn(self, withdrawal: IntelligenceWithdrawn, now: datetime) -> None:
        """The piece is withdrawn; its personal data is no longer kept."""

    async def lock_match_keys(self, keys: MatchKeys) -> None:
        """Serialise work on the same person or address until commit, so two pieces of
        intelligence about one person never open two referrals."""

    async def find_open_match(self, keys: MatchKeys) -> ReferralState | None:
        """An open referral for the same person (preferred) or, failing that, the same
        address (locked)."""

    async def find_previous(self, keys: MatchKeys) -> uuid.UUID | None:
        """The latest referral for the same person (preferred) or address that has ended,
        or whose cancellation intake asked for."""

    async def load_referral(self, referral_id: uuid.UUID) -> ReferralState | None:
        """The referral with its active pieces, lead first (locked); None if intake did not
        open it."""

    async def save_referral(self, state: ReferralState, now: datetime) -> None:
        """Keep the referral and the pieces behind it."""

    async def save_lifecycle(self, state: ReferralState, now: datetime) -> None:
        """Keep only the folded lifecycle (the event changed nothing else)."""

    async def keep_keys(self, keys: Sequence[tuple[uuid.UUID, WrappedKey]]) -> None:
        """Keep each (referral id, wrapped data key): in the transaction that publishes what
        the keys sealed."""

    async def knows(self, referral_id: uuid.UUID) -> bool:
        """Whether intake opened this referral (nothing is locked)."""

    async def same_person(self, referral_id: uuid.UUID) -> list[uuid.UUID]:
        """``referral_id`` and every referral whose intelligence intake matched to its
        person, in id order."""

    async def due_for_erasure(self, ended_before: datetime, limit: int) -> list[uuid.UUID]:
        """Up to ``limit`` ended referrals not erased, ended before ``ended_before``, oldest
        end first (locked; those another instance holds are skipped)."""

    async def erase(self, referral_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
        """Scrub intake's copy of the person from these referrals and their intelligence
        (the address's keyed hash stays), destroy their keys and note when; returns the keys
        destroyed per referral."""
