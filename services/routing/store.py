"""Where routing keeps its state: the ``RoutingStore`` seam its handlers and timer loop use,
and its PostgreSQL implementation (``PgRoutingStore``, on the caller's connection, inside the
caller's transaction). The in-memory fake for fast tests is ``memory_store.InMemoryRoutingStore``;
one contract suite (tests/integration/test_routing_store_contract.py) runs against both."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import EscalationReason

from services.routing import codec
from services.routing.domain import RoutingState
from services.runtime.db import Connection


@dataclass(frozen=True)
class DirectoryRef:
    """One stored directory version: its number and the event that carried it."""

    version: int
    event_id: uuid.UUID


@dataclass(frozen=True)
class Timer:
    referral_id: uuid.UUID
    agency: str
    due_by: datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID
    """The event that set the deadline (ReferralRouted or ReferralRerouted)."""


class RoutingStore(Protocol):
    """What routing reads and writes within one transaction."""

    async def lock_allocation(self) -> None:
        """Serialise routing decisions until the transaction ends; taken before any row."""

    async def latest_directory(self) -> DirectoryRef | None:
        """Which directory is in force (the highest version received), without its data."""

    async def load_directory(self, ref: DirectoryRef) -> DirectoryPublished:
        """That stored version's data."""

    async def save_directory(
        self, directory: DirectoryPublished, event_id: uuid.UUID, now: datetime
    ) -> None:
        """Keep a version (a version already kept stays as it is)."""

    async def open_counts(self) -> dict[str, int]:
        """Referrals holding each agency's capacity (agencies holding none left out)."""

    async def load_for_update(self, referral_id: uuid.UUID) -> RoutingState | None:
        """The referral's state, held for this transaction; None for one never saved."""

    async def load_waiting(self) -> list[RoutingState]:
        """Referrals waiting on routing when a directory version arrives: those not yet
        offered, oldest first, then the escalations routing retries, in escalation order."""

    async def load_awaiting_capacity(self, areas: list[str]) -> list[RoutingState]:
        """Referrals escalated for lack of capacity in these areas, in escalation order."""

    async def save(self, state: RoutingState, now: datetime) -> None:
        """Keep ``state`` as of ``now``; the open counts follow its holding agency."""

    async def set_timer(self, timer: Timer) -> None:
        """The referral's acceptance timer (replacing any it had); the referral is saved."""

    async def clear_timer(self, referral_id: uuid.UUID) -> None:
        """The referral has no acceptance timer (if it had one)."""

    async def take_due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Remove and return up to ``limit`` of the timers due by ``now`` (the earliest due
        first), in no particular order."""


# Any constant: it serialises routing decisions (across instances) so two referrals never
# both take an agency's last place, and a referral opened while a directory arrives is
# either routed by that directory's handler or sees the directory itself.
_ALLOCATION_LOCK = 7_300_101
_COLUMNS = "correlation_id, lifecycle, pending, reroute_cause"


def _state(row: asyncpg.Record) -> RoutingState:
    return codec.state_from(
        row["correlation_id"], row["lifecycle"], row["pending"], row["reroute_cause"]
    )


class PgRoutingStore:
    """routing's tables on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def lock_allocation(self) -> None:
        """An advisory lock, held until the transaction ends."""
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _ALLOCATION_LOCK)

    async def latest_directory(self) -> DirectoryRef | None:
        row = await self._conn.fetchrow(
            "SELECT version, event_id FROM directory_versions ORDER BY version DESC LIMIT 1"
        )
        return DirectoryRef(row["version"], row["event_id"]) if row is not None else None

    async def load_directory(self, ref: DirectoryRef) -> DirectoryPublished:
        data = await self._conn.fetchval(
            "SELECT data FROM directory_versions WHERE version = $1 AND event_id = $2",
            ref.version,
            ref.event_id,
        )
        return DirectoryPublished.model_validate(data)

    async def save_directory(
        self, directory: DirectoryPublished, event_id: uuid.UUID, now: datetime
    ) -> None:
        await self._conn.execute(
            """INSERT INTO directory_versions (version, data, event_id, published_at,
                   received_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING""",
            directory.version,
            directory.model_dump(mode="json"),
            event_id,
            directory.published_at,
            now,
        )

    async def open_counts(self) -> dict[str, int]:
        """As kept by the trigger on referrals (migrations 0002/0003) in every save."""
        rows = await self._conn.fetch("SELECT agency, open FROM agency_open_counts WHERE open > 0")
        return {r["agency"]: r["open"] for r in rows}

    async def load_for_update(self, referral_id: uuid.UUID) -> RoutingState | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM referrals WHERE referral_id = $1 FOR UPDATE", referral_id
        )
        return _state(row) if row else None

    async def load_waiting(self) -> list[RoutingState]:
        rows = await self._conn.fetch(
            f"""SELECT {_COLUMNS} FROM referrals
                 WHERE status IN ('opened', 'rerouting') OR retry_order IS NOT NULL
                 ORDER BY retry_order NULLS FIRST, opened_at, referral_id FOR UPDATE"""
        )
        return [_state(r) for r in rows]

    async def load_awaiting_capacity(self, areas: list[str]) -> list[RoutingState]:
        rows = await self._conn.fetch(
            f"""SELECT {_COLUMNS} FROM referrals
                 WHERE retry_order IS NOT NULL AND escalation_reason = $1 AND area = ANY($2)
                 ORDER BY retry_order FOR UPDATE""",
            EscalationReason.NO_AGENCY_WITH_CAPACITY.value,
            areas,
        )
        return [_state(r) for r in rows]

    async def save(self, state: RoutingState, now: datetime) -> None:
        """The row's other columns describe the state as routing counts it (with its pending
        decisions), and the trigger of migration 0002/0003 moves the open counts."""
        await _save_referral(self._conn, state, now)

    async def set_timer(self, timer: Timer) -> None:
        await self._conn.execute(
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

    async def clear_timer(self, referral_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM timers WHERE referral_id = $1", referral_id)

    async def take_due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Skips the timers another instance is firing right now (SKIP LOCKED)."""
        rows = await self._conn.fetch(
            """DELETE FROM timers WHERE referral_id IN (
                   SELECT referral_id FROM timers WHERE due_by <= $1
                    ORDER BY due_by LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING referral_id, agency, due_by, correlation_id, causation_id""",
            now,
            limit,
        )
        return [
            Timer(
                r["referral_id"], r["agency"], r["due_by"], r["correlation_id"], r["causation_id"]
            )
            for r in rows
        ]


async def _save_referral(conn: Connection, state: RoutingState, now: datetime) -> None:
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
