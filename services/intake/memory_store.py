"""``InMemoryIntakeStore``: the ``IntakeStore`` (services/intake/store.py) in dicts, for
handler tests that need no database.

It keeps what intake's tables keep and nothing more: a referral by keyed hashes (its row
holds no name and no address: those come, as from PostgreSQL, from its lead piece), each
piece's identity only until it is withdrawn or erased, and the keyring's wrapped keys.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from referral_schemas import IntelligenceWithdrawn

from services.intake.contents import Piece
from services.intake.matching import MatchKeys
from services.intake.state import ENDED, IntakeStatus, ReferralState
from services.intake.store import IntelligenceRow
from services.runtime.sealing import WrappedKey


@dataclass(frozen=True)
class ReferralRow:
    """A row of ``referrals``: the state without its pieces, its contents without the lead's
    identity."""

    state: ReferralState
    updated_at: datetime
    erased_at: datetime | None = None


@dataclass(frozen=True)
class IntelligenceRecord:
    """A row of ``intelligence``."""

    piece: Piece
    referral_id: uuid.UUID
    position: int
    status: str = "active"
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None


@dataclass(frozen=True)
class EarlyWithdrawal:
    """A row of ``withdrawals_before_submission``."""

    withdrawal: IntelligenceWithdrawn
    event_id: uuid.UUID
    received_at: datetime


def _row_state(state: ReferralState) -> ReferralState:
    contents = replace(state.contents, subject=None, address=None)
    return replace(state, pieces=(), contents=contents)


def _same(keys: MatchKeys, state: ReferralState) -> bool:
    person = state.contents.person_key
    return (person is not None and person == keys.person) or (
        state.contents.address_key == keys.address
    )


class InMemoryIntakeStore:
    def __init__(self) -> None:
        self.referrals: dict[uuid.UUID, ReferralRow] = {}
        self.intelligence: dict[tuple[str, str], IntelligenceRecord] = {}
        self.early_withdrawals: dict[tuple[str, str], EarlyWithdrawal] = {}
        self.keys: dict[uuid.UUID, tuple[uuid.UUID, WrappedKey]] = {}
        """The keyring: key id -> (referral id, wrapped key)."""

    async def find_intelligence(self, force: str, ref: str) -> IntelligenceRow | None:
        found = self.intelligence.get((force, ref))
        if found is None:
            return None
        piece = found.piece
        return IntelligenceRow(found.referral_id, found.status, piece.person_key, piece.address_key)

    async def withdrawn_before(self, force: str, ref: str) -> bool:
        return (force, ref) in self.early_withdrawals

    async def remember_withdrawal(
        self, withdrawal: IntelligenceWithdrawn, event_id: uuid.UUID, now: datetime
    ) -> None:
        key = (withdrawal.force, withdrawal.intelligence_ref)
        self.early_withdrawals.setdefault(key, EarlyWithdrawal(withdrawal, event_id, now))

    async def mark_withdrawn(self, withdrawal: IntelligenceWithdrawn, now: datetime) -> None:
        key = (withdrawal.force, withdrawal.intelligence_ref)
        found = self.intelligence.get(key)
        if found is not None:
            self.intelligence[key] = replace(
                found,
                piece=found.piece.forgotten(),
                status="withdrawn",
                withdrawn_at=now,
                withdrawal_reason=withdrawal.reason.value,
            )

    async def lock_match_keys(self, keys: MatchKeys) -> None:
        """Nothing to do: one test, one task."""

    async def find_open_match(self, keys: MatchKeys) -> ReferralState | None:
        rows = [
            row.state
            for row in self.referrals.values()
            if row.state.status is IntakeStatus.OPEN and _same(keys, row.state)
        ]
        rows.sort(key=lambda s: (s.contents.person_key != keys.person, s.opened_at))
        return self._with_pieces(rows[0]) if rows else None

    async def find_previous(self, keys: MatchKeys) -> uuid.UUID | None:
        rows = [
            row.state
            for row in self.referrals.values()
            if row.state.status is not IntakeStatus.OPEN and _same(keys, row.state)
        ]
        rows.sort(key=lambda s: s.ended_at.timestamp() if s.ended_at else 0.0, reverse=True)
        rows.sort(key=lambda s: (s.contents.person_key != keys.person, s.ended_at is None))
        return rows[0].referral_id if rows else None

    async def load_referral(self, referral_id: uuid.UUID) -> ReferralState | None:
        row = self.referrals.get(referral_id)
        return self._with_pieces(row.state) if row else None

    async def save_referral(self, state: ReferralState, now: datetime) -> None:
        kept = self.referrals.get(state.referral_id)
        stored = _row_state(state)
        if kept is not None:  # as the upsert: force, opening and previous stay
            old = kept.state
            stored = replace(
                stored,
                force=old.force,
                opened_at=old.opened_at,
                previous_referral_id=old.previous_referral_id,
            )
        erased_at = kept.erased_at if kept else None
        self.referrals[state.referral_id] = ReferralRow(stored, now, erased_at)
        for position, piece in enumerate(state.pieces):
            self._save_piece(state.referral_id, position, piece)

    def _save_piece(self, referral_id: uuid.UUID, position: int, piece: Piece) -> None:
        found = self.intelligence.get(piece.key)
        if found is None:
            self.intelligence[piece.key] = IntelligenceRecord(piece, referral_id, position)
            return
        moved = replace(
            found.piece, link_basis=piece.link_basis, subject=piece.subject, address=piece.address
        )
        self.intelligence[piece.key] = replace(
            found, piece=moved, referral_id=referral_id, position=position
        )

    async def save_lifecycle(self, state: ReferralState, now: datetime) -> None:
        assert state.lifecycle is not None, "only a folded state is saved this way"
        kept = self.referrals.get(state.referral_id)
        if kept is not None:
            stored = replace(kept.state, lifecycle=state.lifecycle)
            self.referrals[state.referral_id] = replace(kept, state=stored, updated_at=now)

    async def keep_keys(self, keys: Sequence[tuple[uuid.UUID, WrappedKey]]) -> None:
        for referral_id, key in keys:
            self.keys.setdefault(key.key_id, (referral_id, key))

    async def knows(self, referral_id: uuid.UUID) -> bool:
        return referral_id in self.referrals

    async def same_person(self, referral_id: uuid.UUID) -> list[uuid.UUID]:
        pieces = [r for r in self.intelligence.values() if r.referral_id == referral_id]
        people = {r.piece.person_key for r in pieces}
        row = self.referrals.get(referral_id)
        if row is not None:
            people.add(row.state.contents.person_key)
        people.discard(None)
        found = {referral_id}
        found |= {rid for rid, r in self.referrals.items() if r.state.contents.person_key in people}
        found |= {r.referral_id for r in self.intelligence.values() if r.piece.person_key in people}
        return sorted(found)

    async def due_for_erasure(self, ended_before: datetime, limit: int) -> list[uuid.UUID]:
        due = [
            row.state
            for row in self.referrals.values()
            if row.erased_at is None
            and row.state.status in ENDED
            and row.state.ended_at is not None
            and row.state.ended_at < ended_before
        ]
        due.sort(key=lambda s: s.ended_at or ended_before)
        return [s.referral_id for s in due[:limit]]

    async def erase(self, referral_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
        ids = set(referral_ids)
        for key, record in self.intelligence.items():
            if record.referral_id in ids:
                piece = replace(record.piece.forgotten(), person_key=None)
                self.intelligence[key] = replace(record, piece=piece)
        for rid in ids & self.referrals.keys():
            row = self.referrals[rid]
            state = replace(row.state, contents=replace(row.state.contents, person_key=None))
            self.referrals[rid] = replace(row, state=state, erased_at=row.erased_at or now)
        destroyed = {rid: 0 for rid in referral_ids}
        for key_id, (rid, _) in list(self.keys.items()):
            if rid in ids:
                del self.keys[key_id]
                destroyed[rid] += 1
        return destroyed

    def _with_pieces(self, state: ReferralState) -> ReferralState:
        active = sorted(
            (r for r in self.intelligence.values() if r.referral_id == state.referral_id),
            key=lambda r: r.position,
        )
        pieces = tuple(r.piece for r in active if r.status == "active")
        lead = pieces[0] if pieces else None
        contents = replace(
            state.contents,
            subject=lead.subject if lead else None,
            address=lead.address if lead else None,
        )
        return replace(state, pieces=pieces, contents=contents)
