"""feedback's table (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from datetime import datetime

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


async def load_for_update(conn: Connection, referral_id: uuid.UUID) -> FeedbackState:
    """The referral's state, locked until commit; a blank state for a referral never seen."""
    return _state(await lock_or_create(conn, "referral_feedback", referral_id))


async def save(conn: Connection, state: FeedbackState, now: datetime) -> None:
    life = state.lifecycle
    outcome = None if life is None else police_outcome(life)
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
