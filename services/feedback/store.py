"""feedback's table (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from datetime import datetime

import asyncpg
from referral_schemas import Outcome

from services.feedback.domain import FeedbackState
from services.runtime.db import Connection
from services.runtime.rows import lock_or_create


def _state(row: asyncpg.Record) -> FeedbackState:
    pairs = (tuple(item.split(":", 1)) for item in row["intelligence"])
    return FeedbackState(
        referral_id=row["referral_id"],
        force=row["force"],
        intelligence=tuple((force, ref) for force, ref in pairs),
        opened_at=row["opened_at"],
        first_contact_at=row["first_contact_at"],
        agency=row["agency"],
        ended_at=row["ended_at"],
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        reported_at=row["reported_at"],
    )


async def load_for_update(conn: Connection, referral_id: uuid.UUID) -> FeedbackState:
    """The referral's state, locked until commit; a blank state for a referral never seen."""
    return _state(await lock_or_create(conn, "referral_feedback", referral_id))


async def save(conn: Connection, state: FeedbackState, now: datetime) -> None:
    await conn.execute(
        """UPDATE referral_feedback
              SET force = $2, intelligence = $3, opened_at = $4, first_contact_at = $5,
                  agency = $6, ended_at = $7, outcome = $8, reported_at = $9, updated_at = $10
            WHERE referral_id = $1""",
        state.referral_id,
        state.force,
        [f"{force}:{ref}" for force, ref in state.intelligence],
        state.opened_at,
        state.first_contact_at,
        state.agency,
        state.ended_at,
        state.outcome.value if state.outcome else None,
        state.reported_at,
        now,
    )
