"""casework's tables (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from referral_schemas import Envelope, RiskLevel

from services.casework.domain import CaseState, Status
from services.casework.views import timeline_summary
from services.runtime.db import Connection


async def load(conn: Connection, referral_id: uuid.UUID, *, lock: bool) -> CaseState | None:
    """The referral's state; ``lock`` holds its row until commit (for a change)."""
    sql = "SELECT state FROM referrals WHERE referral_id = $1" + (" FOR UPDATE" if lock else "")
    state = await conn.fetchval(sql, referral_id)
    return CaseState.model_validate(state) if state is not None else None


async def save(conn: Connection, state: CaseState) -> None:
    await conn.execute(
        """INSERT INTO referrals (referral_id, force, agency, status, area, risk_rank, due_by,
               overdue, held, opened_at, updated_at, state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (referral_id) DO UPDATE SET
               agency = EXCLUDED.agency, status = EXCLUDED.status, area = EXCLUDED.area,
               risk_rank = EXCLUDED.risk_rank, due_by = EXCLUDED.due_by,
               overdue = EXCLUDED.overdue, held = EXCLUDED.held,
               updated_at = EXCLUDED.updated_at, state = EXCLUDED.state""",
        state.referral_id,
        state.force,
        state.agency,
        state.status.value,
        state.area,
        RiskLevel(state.risk_level).rank,
        state.due_by,
        state.overdue,
        state.held,
        state.opened_at,
        state.updated_at,
        state.model_dump(mode="json"),
    )


async def add_to_timeline(conn: Connection, envelope: Envelope[Any]) -> None:
    await conn.execute(
        """INSERT INTO timeline (event_id, referral_id, type, at, actor, agency, summary,
                                 traceparent, tracestate)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        envelope.id,
        envelope.data.referral_id,
        envelope.type,
        envelope.time,
        envelope.actor,
        envelope.agency,
        timeline_summary(envelope.data),
        envelope.traceparent,
        envelope.tracestate,
    )


async def latest_trace(conn: Connection, referral_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The trace context of the referral's latest event that carried one."""
    row = await conn.fetchrow(
        """SELECT traceparent, tracestate FROM timeline
            WHERE referral_id = $1 AND traceparent IS NOT NULL ORDER BY seq DESC LIMIT 1""",
        referral_id,
    )
    return (row["traceparent"], row["tracestate"]) if row is not None else (None, None)


async def timeline(conn: Connection, referral_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT event_id, type, at, actor, agency, summary FROM timeline
            WHERE referral_id = $1 ORDER BY seq""",
        referral_id,
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class QueueQuery:
    """Whose queue (an agency's, or a force's for police) and which part of it."""

    scope_column: str  # "agency" or "force": fixed by the caller's role, never user input
    scope: str
    status: Status | None
    area: str | None
    overdue: bool | None
    limit: int
    offset: int
    now: datetime


def _queue_filter(q: QueueQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a queue and its arguments. Only the filters given appear in it,
    so PostgreSQL plans each combination with the index that fits it."""
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    conditions = [f"{q.scope_column} = {param(q.scope)}"]
    if q.status is not None:
        conditions.append(f"status = {param(q.status.value)}")
    if q.area is not None:
        conditions.append(f"area = {param(q.area)}")
    if q.overdue is not None:
        # The same rule as views.is_overdue.
        overdue = f"(overdue OR (status = 'awaiting_acceptance' AND due_by < {param(q.now)}))"
        conditions.append(f"{overdue} IS {'TRUE' if q.overdue else 'NOT TRUE'}")
    return " AND ".join(conditions), args


async def queue(conn: Connection, q: QueueQuery) -> tuple[list[CaseState], int]:
    """Ordered by risk (critical first) then acceptance deadline; one page and the total."""
    assert q.scope_column in ("agency", "force")
    where, args = _queue_filter(q)
    total = await conn.fetchval(f"SELECT count(*) FROM referrals WHERE {where}", *args)
    rows = await conn.fetch(
        f"""SELECT state FROM referrals WHERE {where}
             ORDER BY risk_rank DESC, due_by NULLS LAST, opened_at, referral_id
             LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args,
        q.limit,
        q.offset,
    )
    return [CaseState.model_validate(r["state"]) for r in rows], int(total)


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


async def lock_idempotency_key(conn: Connection, user: str, key: str) -> StoredResponse | None:
    """Serialise requests with one (user, key) until commit; the stored answer if any."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7300002))", f"{user}\x1f{key}"
    )
    row = await conn.fetchrow(
        """SELECT fingerprint, status_code, body FROM idempotency
            WHERE user_id = $1 AND key = $2""",
        user,
        key,
    )
    if row is None:
        return None
    return StoredResponse(row["fingerprint"], row["status_code"], row["body"])


async def store_response(conn: Connection, user: str, key: str, response: StoredResponse) -> None:
    await conn.execute(
        """INSERT INTO idempotency (user_id, key, fingerprint, status_code, body)
           VALUES ($1, $2, $3, $4, $5)""",
        user,
        key,
        response.fingerprint,
        response.status_code,
        response.body,
    )
