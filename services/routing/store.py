"""routing's tables (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import EscalationReason

from services.routing import codec
from services.routing.domain import RoutingState
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
    """Referrals holding each agency's capacity (offered to it or accepted by it, pending
    decisions included), as kept by the trigger on referrals in every referral save."""
    rows = await conn.fetch("SELECT agency, open FROM agency_open_counts WHERE open > 0")
    return {r["agency"]: r["open"] for r in rows}


_COLUMNS = "correlation_id, lifecycle, pending, reroute_cause"


def _state(row: asyncpg.Record) -> RoutingState:
    return codec.state_from(
        row["correlation_id"], row["lifecycle"], row["pending"], row["reroute_cause"]
    )


async def load_referral(conn: Connection, referral_id: uuid.UUID) -> RoutingState | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM referrals WHERE referral_id = $1 FOR UPDATE", referral_id
    )
    return _state(row) if row else None


async def load_waiting(conn: Connection) -> list[RoutingState]:
    """Referrals waiting on routing when a directory version arrives: those not yet offered
    (opened before any directory), oldest first, then the escalations routing retries, in the
    order they were escalated."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM referrals
             WHERE status IN ('opened', 'rerouting') OR retry_order IS NOT NULL
             ORDER BY retry_order NULLS FIRST, opened_at, referral_id FOR UPDATE"""
    )
    return [_state(r) for r in rows]


async def load_awaiting_capacity(conn: Connection, areas: list[str]) -> list[RoutingState]:
    """Referrals escalated for lack of capacity in these areas, in the order they were
    escalated."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM referrals
             WHERE retry_order IS NOT NULL AND escalation_reason = $1 AND area = ANY($2)
             ORDER BY retry_order FOR UPDATE""",
        EscalationReason.NO_AGENCY_WITH_CAPACITY.value,
        areas,
    )
    return [_state(r) for r in rows]


async def save_referral(conn: Connection, state: RoutingState, now: datetime) -> None:
    """Store the state; the row's other columns describe it as routing counts it (with its
    pending decisions), and the trigger of migration 0002/0003 moves the open counts."""
    current = state.effective
    await conn.execute(
        """INSERT INTO referrals (referral_id, correlation_id, opened_at, status, agency,
               holding_agency, area, escalation_reason, retry_order, lifecycle, pending,
               reroute_cause, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                   CASE WHEN $9 THEN nextval('escalation_retry_order') END,
                   $10, $11, $12, $13)
           ON CONFLICT (referral_id) DO UPDATE SET
               status = EXCLUDED.status, agency = EXCLUDED.agency,
               holding_agency = EXCLUDED.holding_agency, area = EXCLUDED.area,
               escalation_reason = EXCLUDED.escalation_reason,
               retry_order = CASE WHEN $9
                   THEN coalesce(referrals.retry_order, nextval('escalation_retry_order')) END,
               lifecycle = EXCLUDED.lifecycle, pending = EXCLUDED.pending,
               reroute_cause = EXCLUDED.reroute_cause, updated_at = EXCLUDED.updated_at""",
        state.referral_id,
        state.correlation_id,
        current.opened_at,
        current.status.value,
        current.agency,
        current.holding_agency,
        current.area,
        current.escalation_reason,
        state.awaits_retry,
        codec.lifecycle_json(state.lifecycle),
        codec.pending_json(state.pending),
        state.reroute_cause.value if state.reroute_cause else None,
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
