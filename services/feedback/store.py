"""Where feedback keeps each referral's state: the ``FeedbackStore`` seam the handler uses,
its PostgreSQL implementation (``PgFeedbackStore``, on the consumer shell's connection and
inside its transaction) and an in-memory one for fast tests (``InMemoryFeedbackStore``).
One contract suite (tests/integration/test_feedback_store_contract.py) runs against both."""

import uuid
from datetime import datetime
from typing import Protocol

import asyncpg
from pydantic import TypeAdapter
from referral_schemas.lifecycle import Lifecycle, police_outcome

from services.feedback.domain import FeedbackState
from services.runtime.db import Connection
from services.runtime.rows import lock_or_create

_LIFECYCLE = TypeAdapter(Lifecycle)


def _state(row: asyncpg.Record) -> FeedbackState:
    pairs = (tuple(item.split(":", 1)) for item in row["intelligence"])
    stored = row["lifecycle"]
    return FeedbackState(
        referral_id=row["referral_id"],
        lifecycle=None if stored is None else _LIFECYCLE.validate_python(stored),
        raised=tuple((force, ref) for force, ref in pairs),
        reported_at=row["reported_at"],
    )


class FeedbackStore(Protocol):
    async def load_for_update(self, referral_id: uuid.UUID) -> FeedbackState:
        """The referral's state, held for this transaction; blank for one never seen."""

    async def save(self, state: FeedbackState, now: datetime) -> None:
        """Keep ``state`` (its referral's row), as of ``now``."""


class InMemoryFeedbackStore:
    """States in a dict: for handler tests that need no database."""

    def __init__(self) -> None:
        self.states: dict[uuid.UUID, FeedbackState] = {}
        self.saved_at: dict[uuid.UUID, datetime] = {}

    async def load_for_update(self, referral_id: uuid.UUID) -> FeedbackState:
        return self.states.get(referral_id) or FeedbackState(referral_id)

    async def save(self, state: FeedbackState, now: datetime) -> None:
        self.states[state.referral_id] = state
        self.saved_at[state.referral_id] = now


class PgFeedbackStore:
    """``referral_feedback`` on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(self, referral_id: uuid.UUID) -> FeedbackState:
        """Locked until commit (FOR UPDATE): instances handling one referral take turns."""
        return _state(await lock_or_create(self._conn, "referral_feedback", referral_id))

    async def save(self, state: FeedbackState, now: datetime) -> None:
        await _save(self._conn, state, now)


async def _save(conn: Connection, state: FeedbackState, now: datetime) -> None:
    life = state.lifecycle
    outcome = None if life is None else police_outcome(life)
    # Usually the row exists (load_for_update made it); a save without that load keeps too.
    await conn.execute(
        "INSERT INTO referral_feedback (referral_id) VALUES ($1) ON CONFLICT DO NOTHING",
        state.referral_id,
    )
    await conn.execute(
        """UPDATE referral_feedback
              SET lifecycle = $2::jsonb, status = $3, force = $4, intelligence = $5,
                  opened_at = $6, first_contact_at = $7, agency = $8, ended_at = $9,
                  outcome = $10, reported_at = $11, updated_at = $12
            WHERE referral_id = $1""",
        state.referral_id,
        None if life is None else _LIFECYCLE.dump_python(life, mode="json"),
        None if life is None else life.status.value,
        None if life is None else life.force,
        [f"{force}:{ref}" for force, ref in state.raised],
        None if life is None else life.opened_at,
        None if life is None else life.first_contact_at,
        life.tried[-1] if life is not None and life.tried else None,
        None if life is None else life.ended_at,
        None if outcome is None else outcome.value,
        state.reported_at,
        now,
    )
