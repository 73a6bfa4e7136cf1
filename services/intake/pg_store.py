"""intake's tables (asyncpg): ``PgIntakeStore``, the ``IntakeStore`` (services/intake/store.py)
on the caller's connection, inside the caller's transaction.

Lock order, the same in every handler so two never wait on each other: an intelligence
row, then the advisory locks of match keys, then referral rows.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter
from referral_schemas import (
    Address,
    Indicator,
    IntelligenceWithdrawn,
    LinkBasis,
    ReferralSubject,
    RiskLevel,
    VisitorSafetyMarker,
)
from referral_schemas.lifecycle import Lifecycle

from services.intake.contents import Contents, Piece
from services.intake.matching import MatchKeys
from services.intake.state import IntakeStatus, ReferralState
from services.intake.store import IntelligenceRow
from services.runtime import keyring
from services.runtime.db import Connection
from services.runtime.sealing import WrappedKey

_LIFECYCLE = TypeAdapter(Lifecycle)


def _piece(row: asyncpg.Record) -> Piece:
    subject, address, basis = row["subject"], row["address"], row["link_basis"]
    return Piece(
        force=row["force"],
        ref=row["intelligence_ref"],
        event_id=row["event_id"],
        received_at=row["received_at"],
        person_key=row["person_key"],
        address_key=row["address_key"],
        subject_is_child=row["subject_is_child"],
        indicators=tuple(Indicator(i) for i in row["indicators"]),
        visitor_safety=tuple(VisitorSafetyMarker(m) for m in row["visitor_safety"]),
        subject=ReferralSubject.model_validate(subject) if subject else None,
        address=Address.model_validate(address) if address else None,
        link_basis=LinkBasis(basis) if basis else None,
    )


def _state(row: asyncpg.Record, pieces: tuple[Piece, ...]) -> ReferralState:
    lead = pieces[0] if pieces else None
    contents = Contents(
        person_key=row["person_key"],
        address_key=row["address_key"],
        postcode_district=row["postcode_district"],
        subject_is_child=row["subject_is_child"],
        risk_level=RiskLevel(row["risk_level"]),
        reason_categories=tuple(Indicator(c) for c in row["reason_categories"]),
        visitor_safety=tuple(VisitorSafetyMarker(m) for m in row["visitor_safety"]),
        subject=lead.subject if lead else None,
        address=lead.address if lead else None,
    )
    lifecycle = row["lifecycle"]
    return ReferralState(
        referral_id=row["referral_id"],
        force=row["force"],
        opened_at=row["opened_at"],
        status=IntakeStatus(row["status"]),
        contents=contents,
        pieces=pieces,
        previous_referral_id=row["previous_referral_id"],
        ended_at=row["ended_at"],
        lifecycle=_LIFECYCLE.validate_python(lifecycle) if lifecycle is not None else None,
    )


class PgIntakeStore:
    """intake's tables on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def find_intelligence(self, force: str, ref: str) -> IntelligenceRow | None:
        row = await self._conn.fetchrow(
            """SELECT referral_id, status, person_key, address_key FROM intelligence
                WHERE force = $1 AND intelligence_ref = $2 FOR UPDATE""",
            force,
            ref,
        )
        if row is None:
            return None
        return IntelligenceRow(
            row["referral_id"], row["status"], row["person_key"], row["address_key"]
        )

    async def withdrawn_before(self, force: str, ref: str) -> bool:
        found: Any = await self._conn.fetchval(
            """SELECT 1 FROM withdrawals_before_submission
                WHERE force = $1 AND intelligence_ref = $2""",
            force,
            ref,
        )
        return found is not None

    async def remember_withdrawal(
        self, withdrawal: IntelligenceWithdrawn, event_id: uuid.UUID, now: datetime
    ) -> None:
        await self._conn.execute(
            """INSERT INTO withdrawals_before_submission
                   (force, intelligence_ref, event_id, reason, withdrawn_at, received_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
            withdrawal.force,
            withdrawal.intelligence_ref,
            event_id,
            withdrawal.reason.value,
            withdrawal.withdrawn_at,
            now,
        )

    async def mark_withdrawn(self, withdrawal: IntelligenceWithdrawn, now: datetime) -> None:
        await self._conn.execute(
            """UPDATE intelligence
                  SET status = 'withdrawn', withdrawn_at = $3, withdrawal_reason = $4,
                      subject = NULL, address = NULL
                WHERE force = $1 AND intelligence_ref = $2""",
            withdrawal.force,
            withdrawal.intelligence_ref,
            now,
            withdrawal.reason.value,
        )

    async def lock_match_keys(self, keys: MatchKeys) -> None:
        ordered = sorted(k.hex() for k in (keys.person, keys.address) if k is not None)
        # One round trip; unnest yields the sorted keys in order, so every instance locks in
        # the same order.
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS t(k)",
            ordered,
        )

    async def find_open_match(self, keys: MatchKeys) -> ReferralState | None:
        row = await self._conn.fetchrow(
            """SELECT * FROM referrals
                WHERE status = 'open'
                  AND ((person_key IS NOT NULL AND person_key = $1) OR address_key = $2)
                ORDER BY (person_key IS NOT DISTINCT FROM $1) DESC, opened_at
                LIMIT 1 FOR UPDATE""",
            keys.person,
            keys.address,
        )
        return await _with_pieces(self._conn, row) if row else None

    async def find_previous(self, keys: MatchKeys) -> uuid.UUID | None:
        found: uuid.UUID | None = await self._conn.fetchval(
            """SELECT referral_id FROM referrals
                WHERE status <> 'open'
                  AND ((person_key IS NOT NULL AND person_key = $1) OR address_key = $2)
                ORDER BY (person_key IS NOT DISTINCT FROM $1) DESC, ended_at DESC NULLS LAST
                LIMIT 1""",
            keys.person,
            keys.address,
        )
        return found

    async def load_referral(self, referral_id: uuid.UUID) -> ReferralState | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM referrals WHERE referral_id = $1 FOR UPDATE", referral_id
        )
        return await _with_pieces(self._conn, row) if row else None

    async def save_referral(self, state: ReferralState, now: datetime) -> None:
        await _save_referral(self._conn, state, now)
        if state.pieces:
            await _save_pieces(self._conn, state)

    async def save_lifecycle(self, state: ReferralState, now: datetime) -> None:
        assert state.lifecycle is not None, "only a folded state is saved this way"
        await self._conn.execute(
            "UPDATE referrals SET lifecycle = $2, updated_at = $3 WHERE referral_id = $1",
            state.referral_id,
            _LIFECYCLE.dump_python(state.lifecycle, mode="json"),
            now,
        )

    async def keep_keys(self, keys: Sequence[tuple[uuid.UUID, WrappedKey]]) -> None:
        for referral_id, key in keys:
            await keyring.keep(self._conn, referral_id, key)

    async def knows(self, referral_id: uuid.UUID) -> bool:
        found: Any = await self._conn.fetchval(
            "SELECT 1 FROM referrals WHERE referral_id = $1", referral_id
        )
        return bool(found)

    async def same_person(self, referral_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self._conn.fetch(
            """WITH person AS (
                   SELECT person_key FROM intelligence
                    WHERE referral_id = $1 AND person_key IS NOT NULL
                   UNION
                   SELECT person_key FROM referrals
                    WHERE referral_id = $1 AND person_key IS NOT NULL)
               SELECT referral_id FROM referrals
                WHERE person_key IN (SELECT person_key FROM person)
               UNION
               SELECT referral_id FROM intelligence
                WHERE person_key IN (SELECT person_key FROM person)
               UNION
               SELECT $1::uuid""",
            referral_id,
        )
        return sorted(row["referral_id"] for row in rows)

    async def due_for_erasure(self, ended_before: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self._conn.fetch(
            """SELECT referral_id FROM referrals
                WHERE erased_at IS NULL AND status IN ('closed', 'cancelled')
                  AND ended_at < $1
                ORDER BY ended_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            ended_before,
            limit,
        )
        return [row["referral_id"] for row in rows]

    async def erase(self, referral_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
        ids = list(referral_ids)
        await _scrub(self._conn, ids)
        destroyed = {rid: await keyring.destroy(self._conn, [rid]) for rid in ids}
        await self._conn.execute(
            """UPDATE referrals SET erased_at = $2
                WHERE referral_id = ANY($1::uuid[]) AND erased_at IS NULL""",
            ids,
            now,
        )
        return destroyed


async def _with_pieces(conn: Connection, row: asyncpg.Record) -> ReferralState:
    rows = await conn.fetch(
        """SELECT * FROM intelligence WHERE referral_id = $1 AND status = 'active'
            ORDER BY position""",
        row["referral_id"],
    )
    return _state(row, tuple(_piece(r) for r in rows))


async def _save_referral(conn: Connection, state: ReferralState, now: datetime) -> None:
    contents = state.contents
    lifecycle = state.lifecycle
    await conn.execute(
        """INSERT INTO referrals (referral_id, force, status, risk_level, reason_categories,
               visitor_safety, subject_is_child, person_key, address_key, postcode_district,
               opened_at, updated_at, lifecycle, ended_at, previous_referral_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (referral_id) DO UPDATE SET
               status = EXCLUDED.status, risk_level = EXCLUDED.risk_level,
               reason_categories = EXCLUDED.reason_categories,
               visitor_safety = EXCLUDED.visitor_safety,
               subject_is_child = EXCLUDED.subject_is_child,
               person_key = EXCLUDED.person_key, address_key = EXCLUDED.address_key,
               postcode_district = EXCLUDED.postcode_district, updated_at = EXCLUDED.updated_at,
               lifecycle = EXCLUDED.lifecycle, ended_at = EXCLUDED.ended_at""",
        state.referral_id,
        state.force,
        state.status.value,
        contents.risk_level.value,
        [c.value for c in contents.reason_categories],
        [m.value for m in contents.visitor_safety],
        contents.subject_is_child,
        contents.person_key,
        contents.address_key,
        contents.postcode_district,
        state.opened_at,
        now,
        _LIFECYCLE.dump_python(lifecycle, mode="json") if lifecycle is not None else None,
        state.ended_at,
        state.previous_referral_id,
    )


async def _save_pieces(conn: Connection, state: ReferralState) -> None:
    await conn.executemany(
        """INSERT INTO intelligence (force, intelligence_ref, referral_id, event_id, link_basis,
               status, received_at, position, person_key, address_key, subject_is_child,
               indicators, visitor_safety, subject, address)
           VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (force, intelligence_ref) DO UPDATE SET
               referral_id = EXCLUDED.referral_id, link_basis = EXCLUDED.link_basis,
               position = EXCLUDED.position, subject = EXCLUDED.subject,
               address = EXCLUDED.address""",
        [
            (
                p.force,
                p.ref,
                state.referral_id,
                p.event_id,
                p.link_basis.value if p.link_basis else None,
                p.received_at,
                position,
                p.person_key,
                p.address_key,
                p.subject_is_child,
                [i.value for i in p.indicators],
                [m.value for m in p.visitor_safety],
                p.subject.model_dump(mode="json") if p.subject else None,
                p.address.model_dump(mode="json") if p.address else None,
            )
            for position, p in enumerate(state.pieces)
        ],
    )


async def _scrub(conn: Connection, referral_ids: list[uuid.UUID]) -> None:
    """Intake's own copy of the person: gone (locked in referral id order)."""
    await conn.execute(
        "SELECT 1 FROM referrals WHERE referral_id = ANY($1::uuid[]) ORDER BY referral_id "
        "FOR UPDATE",
        referral_ids,
    )
    await conn.execute(
        """UPDATE intelligence SET subject = NULL, address = NULL, person_key = NULL
            WHERE referral_id = ANY($1::uuid[])""",
        referral_ids,
    )
    await conn.execute(
        "UPDATE referrals SET person_key = NULL WHERE referral_id = ANY($1::uuid[])",
        referral_ids,
    )
