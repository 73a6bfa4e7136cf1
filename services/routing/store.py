"""routing's tables (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import EscalationReason

from services.routing.domain import RoutingState, Status
from services.runtime.db import Connection

# Any constant: it serialises routing decisions (across instances) so two referrals never
# both take an agency's last place, and a referral opened while a directory arrives is
# either routed by that directory's handler or sees the directory itself.
_ALLOCATION_LOCK = 7_300_101


async def lock_allocation(conn: Connection) -> None:
    """Held until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ALLOCATION_LOCK)


async def latest_version(conn: Connection) -> int | None:
    version: int | None = await conn.fetchval("SELECT max(version) FROM directory_versions")
    return version


@dataclass(frozen=True)
class DirectoryRef:
    """One stored directory version: its number and the event that carried it."""

    version: int
    event_id: uuid.UUID


async def latest_directory(conn: Connection) -> DirectoryRef | None:
    """Which directory is in force (the highest version received), without its data."""
    row = await conn.fetchrow(
        "SELECT version, event_id FROM directory_versions ORDER BY version DESC LIMIT 1"
    )
    return DirectoryRef(row["version"], row["event_id"]) if row is not None else None


async def load_directory(conn: Connection, ref: DirectoryRef) -> DirectoryPublished:
    """That version's data, parsed."""
    data = await conn.fetchval(
        "SELECT data FROM directory_versions WHERE version = $1 AND event_id = $2",
        ref.version,
        ref.event_id,
    )
    return DirectoryPublished.model_validate(data)


async def save_directory(
    conn: Connection, directory: DirectoryPublished, event_id: uuid.UUID, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO directory_versions (version, data, event_id, published_at, received_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING""",
        directory.version,
        directory.model_dump(mode="json"),
        event_id,
        directory.published_at,
        now,
    )


async def open_counts(conn: Connection) -> dict[str, int]:
    """Open referrals (routing or accepted) per agency, as kept by the trigger on referrals
    (migration 0002) in the transaction of every referral save."""
    rows = await conn.fetch("SELECT agency, open FROM agency_open_counts WHERE open > 0")
    return {r["agency"]: r["open"] for r in rows}


def _state(row: asyncpg.Record) -> RoutingState:
    reason = row["escalation_reason"]
    return RoutingState(
        referral_id=row["referral_id"],
        correlation_id=row["correlation_id"],
        district=row["postcode_district"],
        opened_at=row["opened_at"],
        status=Status(row["status"]),
        area=row["area"],
        agency=row["agency"],
        tried=tuple(row["tried_agencies"]),
        due_by=row["due_by"],
        directory_version=row["directory_version"],
        escalation_reason=EscalationReason(reason) if reason is not None else None,
    )


async def load_referral(conn: Connection, referral_id: uuid.UUID) -> RoutingState | None:
    row = await conn.fetchrow(
        "SELECT * FROM referrals WHERE referral_id = $1 FOR UPDATE", referral_id
    )
    return _state(row) if row else None


async def load_waiting(conn: Connection) -> list[RoutingState]:
    """Referrals opened before any directory existed, oldest first."""
    rows = await conn.fetch(
        """SELECT * FROM referrals WHERE status = 'awaiting_directory'
            ORDER BY opened_at, referral_id FOR UPDATE"""
    )
    return [_state(r) for r in rows]


async def save_referral(conn: Connection, state: RoutingState, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO referrals (referral_id, correlation_id, postcode_district, opened_at,
               status, area, agency, tried_agencies, due_by, directory_version,
               escalation_reason, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (referral_id) DO UPDATE SET
               status = EXCLUDED.status, area = EXCLUDED.area, agency = EXCLUDED.agency,
               tried_agencies = EXCLUDED.tried_agencies, due_by = EXCLUDED.due_by,
               directory_version = EXCLUDED.directory_version,
               escalation_reason = EXCLUDED.escalation_reason, updated_at = EXCLUDED.updated_at""",
        state.referral_id,
        state.correlation_id,
        state.district,
        state.opened_at,
        state.status.value,
        state.area,
        state.agency,
        list(state.tried),
        state.due_by,
        state.directory_version,
        state.escalation_reason.value if state.escalation_reason else None,
        now,
    )


@dataclass(frozen=True)
class Timer:
    referral_id: uuid.UUID
    agency: str
    due_by: datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID
    """The event that set the deadline (ReferralRouted or ReferralRerouted)."""


async def set_timer(conn: Connection, timer: Timer) -> None:
    await conn.execute(
        """INSERT INTO timers (referral_id, agency, due_by, correlation_id, causation_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (referral_id) DO UPDATE SET agency = EXCLUDED.agency,
               due_by = EXCLUDED.due_by, correlation_id = EXCLUDED.correlation_id,
               causation_id = EXCLUDED.causation_id""",
        timer.referral_id,
        timer.agency,
        timer.due_by,
        timer.correlation_id,
        timer.causation_id,
    )


async def clear_timer(conn: Connection, referral_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM timers WHERE referral_id = $1", referral_id)


async def take_due_timers(conn: Connection, now: datetime, limit: int) -> list[Timer]:
    """Delete and return due timers no other instance is firing right now."""
    rows = await conn.fetch(
        """DELETE FROM timers WHERE referral_id IN (
               SELECT referral_id FROM timers WHERE due_by <= $1
                ORDER BY due_by LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING referral_id, agency, due_by, correlation_id, causation_id""",
        now,
        limit,
    )
    return [
        Timer(r["referral_id"], r["agency"], r["due_by"], r["correlation_id"], r["causation_id"])
        for r in rows
    ]
