"""intake's tables (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from referral_schemas import Indicator, VisitorSafetyMarker

from services.intake.domain import ReferralState
from services.intake.matching import MatchKeys
from services.runtime.db import Connection

_SELECT_REFERRAL = """
    SELECT r.*, COALESCE(
        (SELECT array_agg(i.force || ':' || i.intelligence_ref ORDER BY i.received_at)
           FROM intelligence i
          WHERE i.referral_id = r.referral_id AND i.status = 'active'),
        '{}') AS active_intelligence
      FROM referrals r
"""


def _state(row: asyncpg.Record) -> ReferralState:
    return ReferralState(
        referral_id=row["referral_id"],
        force=row["force"],
        open=row["status"] == "open",
        subject_is_child=row["subject_is_child"],
        reason_categories=tuple(Indicator(c) for c in row["reason_categories"]),
        visitor_safety=tuple(VisitorSafetyMarker(m) for m in row["visitor_safety"]),
        person_key=row["person_key"],
        address_key=row["address_key"],
        postcode_district=row["postcode_district"],
        risk_level=row["risk_level"],
        active_intelligence=tuple(row["active_intelligence"]),
    )


async def lock_match_keys(conn: Connection, keys: MatchKeys) -> None:
    """Serialise intake instances handling the same person or address until commit,
    so two pieces of intelligence about one person never open two referrals."""
    ordered = sorted(k.hex() for k in (keys.person, keys.address) if k is not None)
    # One round trip; unnest yields the sorted keys in order, so every instance locks in
    # the same order.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS t(k)",
        ordered,
    )


async def find_open_match(conn: Connection, keys: MatchKeys) -> ReferralState | None:
    """An open referral for the same person (preferred) or, failing that, the same address."""
    row = await conn.fetchrow(
        _SELECT_REFERRAL
        + """ WHERE r.status = 'open'
                AND ((r.person_key IS NOT NULL AND r.person_key = $1) OR r.address_key = $2)
              ORDER BY (r.person_key IS NOT DISTINCT FROM $1) DESC, r.opened_at
              LIMIT 1 FOR UPDATE OF r""",
        keys.person,
        keys.address,
    )
    return _state(row) if row else None


async def load_referral(conn: Connection, referral_id: uuid.UUID) -> ReferralState:
    row = await conn.fetchrow(
        _SELECT_REFERRAL + " WHERE r.referral_id = $1 FOR UPDATE OF r", referral_id
    )
    assert row is not None, "intelligence rows always point at an existing referral"
    return _state(row)


async def save_referral(conn: Connection, state: ReferralState, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO referrals (referral_id, force, status, risk_level, reason_categories,
               visitor_safety, subject_is_child, person_key, address_key, postcode_district,
               opened_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
           ON CONFLICT (referral_id) DO UPDATE SET
               status = EXCLUDED.status, risk_level = EXCLUDED.risk_level,
               reason_categories = EXCLUDED.reason_categories,
               visitor_safety = EXCLUDED.visitor_safety,
               subject_is_child = EXCLUDED.subject_is_child, updated_at = $11""",
        state.referral_id,
        state.force,
        "open" if state.open else "cancelled",
        state.risk_level,
        [c.value for c in state.reason_categories],
        [m.value for m in state.visitor_safety],
        state.subject_is_child,
        state.person_key,
        state.address_key,
        state.postcode_district,
        now,
    )


@dataclass(frozen=True)
class IntelligenceRow:
    referral_id: uuid.UUID
    status: str


async def find_intelligence(conn: Connection, force: str, ref: str) -> IntelligenceRow | None:
    row = await conn.fetchrow(
        """SELECT referral_id, status FROM intelligence
            WHERE force = $1 AND intelligence_ref = $2 FOR UPDATE""",
        force,
        ref,
    )
    return IntelligenceRow(row["referral_id"], row["status"]) if row else None


async def record_intelligence(
    conn: Connection,
    *,
    force: str,
    ref: str,
    referral_id: uuid.UUID,
    event_id: uuid.UUID,
    link_basis: str | None,
    received_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO intelligence (force, intelligence_ref, referral_id, event_id, link_basis,
               status, received_at)
           VALUES ($1, $2, $3, $4, $5, 'active', $6)""",
        force,
        ref,
        referral_id,
        event_id,
        link_basis,
        received_at,
    )


async def mark_withdrawn(conn: Connection, force: str, ref: str, reason: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE intelligence SET status = 'withdrawn', withdrawn_at = $3, withdrawal_reason = $4
            WHERE force = $1 AND intelligence_ref = $2""",
        force,
        ref,
        at,
        reason,
    )


async def list_referrals(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first, without personal data: what an operator may see of intake's work."""
    rows = await conn.fetch(
        """SELECT r.referral_id, r.force, r.status, r.risk_level, r.reason_categories,
                  r.postcode_district, r.opened_at,
                  (SELECT array_agg(i.intelligence_ref ORDER BY i.received_at)
                     FROM intelligence i WHERE i.referral_id = r.referral_id)
                      AS intelligence_refs
             FROM referrals r ORDER BY r.opened_at DESC, r.referral_id LIMIT $1""",
        limit,
    )
    return [dict(r) for r in rows]
