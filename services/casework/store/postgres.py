"""casework's tables (asyncpg): ``PgCaseworkStore`` on the caller's connection, inside the
caller's transaction. ``save`` is also what the auditors' replay writes a rebuilt state with
(services/casework/replay_interface.py): the statements and their order are its contract;
``save`` and ``add_to_timeline`` are how bench/queue_page.py seeds its rows."""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from referral_schemas import Envelope, RiskLevel, serialize_event

from services.casework.domain import CaseState, shown
from services.casework.store.seam import (
    IdempotencyKey,
    QueueQuery,
    Stored,
    StoredResponse,
    stored_of,
)
from services.casework.views import timeline_summary
from services.runtime.db import Connection
from services.runtime.outbox import OutgoingMessage, enqueue


def _stored(row: Any) -> Stored:
    return stored_of(row["state"], row["pending"])


async def save(conn: Connection, state: CaseState, pending: Sequence[Envelope[Any]] = ()) -> None:
    """``state`` is the log's fold; the queue columns show it with ``pending`` laid over."""
    view = shown(state, pending)
    await conn.execute(
        """INSERT INTO referrals (referral_id, force, agency, status, area, risk_rank, due_by,
               held, opened_at, updated_at, state, pending)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (referral_id) DO UPDATE SET
               agency = EXCLUDED.agency, status = EXCLUDED.status, area = EXCLUDED.area,
               risk_rank = EXCLUDED.risk_rank, due_by = EXCLUDED.due_by,
               held = EXCLUDED.held, updated_at = EXCLUDED.updated_at,
               state = EXCLUDED.state, pending = EXCLUDED.pending""",
        state.referral_id,
        state.force,
        view.agency,
        view.status.value,
        view.area,
        RiskLevel(view.risk_level).rank,
        view.due_by,
        view.held,
        state.opened_at,
        view.updated_at,
        state.model_dump(mode="json"),
        [json.loads(serialize_event(e)) for e in pending],
    )


async def add_to_timeline(
    conn: Connection, envelope: Envelope[Any], no_effect: str | None = None
) -> None:
    """At the event's log position; ``no_effect``: the code of the shared fold's refusal.
    (Also how bench/queue_page.py seeds its rows.)"""
    await conn.execute(
        """INSERT INTO timeline (event_id, referral_id, type, at, actor, agency, summary,
               no_effect, traceparent, tracestate)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING""",
        envelope.id,
        envelope.data.referral_id,
        envelope.type,
        envelope.time,
        envelope.actor,
        envelope.agency,
        timeline_summary(envelope.data),
        no_effect,
        envelope.traceparent,
        envelope.tracestate,
    )


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
        overdue = f"(status = 'awaiting_acceptance' AND due_by < {param(q.now)})"
        conditions.append(f"{overdue} IS {'TRUE' if q.overdue else 'NOT TRUE'}")
    return " AND ".join(conditions), args


class PgCaseworkStore:
    """casework's tables on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load(self, referral_id: uuid.UUID, *, lock: bool) -> Stored | None:
        sql = "SELECT state, pending FROM referrals WHERE referral_id = $1" + (
            " FOR UPDATE" if lock else ""
        )
        row = await self._conn.fetchrow(sql, referral_id)
        return _stored(row) if row is not None else None

    async def save(self, state: CaseState, pending: Sequence[Envelope[Any]] = ()) -> None:
        await save(self._conn, state, pending)

    async def add_to_timeline(self, envelope: Envelope[Any], no_effect: str | None = None) -> None:
        await add_to_timeline(self._conn, envelope, no_effect)

    async def timeline(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            """SELECT event_id, type, at, actor, agency, summary, no_effect FROM timeline
                WHERE referral_id = $1 ORDER BY seq""",
            referral_id,
        )
        return [dict(r) for r in rows]

    async def latest_trace(self, referral_id: uuid.UUID) -> tuple[str | None, str | None]:
        row = await self._conn.fetchrow(
            """SELECT traceparent, tracestate FROM timeline
                WHERE referral_id = $1 AND traceparent IS NOT NULL ORDER BY seq DESC LIMIT 1""",
            referral_id,
        )
        return (row["traceparent"], row["tracestate"]) if row is not None else (None, None)

    async def queue(self, query: QueueQuery) -> tuple[list[CaseState], int]:
        assert query.scope_column in ("agency", "force")
        where, args = _queue_filter(query)
        total = await self._conn.fetchval(f"SELECT count(*) FROM referrals WHERE {where}", *args)
        rows = await self._conn.fetch(
            f"""SELECT state, pending FROM referrals WHERE {where}
                 ORDER BY risk_rank DESC, due_by NULLS LAST, opened_at, referral_id
                 LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
            *args,
            query.limit,
            query.offset,
        )
        return [_stored(r).shown for r in rows], int(total)

    async def lock_idempotency_key(self, key: IdempotencyKey) -> StoredResponse | None:
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7300002))", key.text()
        )
        row = await self._conn.fetchrow(
            """SELECT fingerprint, status_code, body FROM idempotency
                WHERE scope = $1 AND user_id = $2 AND key = $3""",
            key.scope,
            key.user,
            key.key,
        )
        if row is None:
            return None
        return StoredResponse(row["fingerprint"], row["status_code"], row["body"])

    async def store_response(self, key: IdempotencyKey, response: StoredResponse) -> None:
        await self._conn.execute(
            """INSERT INTO idempotency (scope, user_id, key, fingerprint, status_code, body)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            key.scope,
            key.user,
            key.key,
            response.fingerprint,
            response.status_code,
            response.body,
        )

    async def save_directory(
        self, version: int, agencies: list[dict[str, Any]], now: datetime
    ) -> bool:
        kept = await self._conn.fetchval(
            """INSERT INTO directory (version, agencies, received_at) VALUES ($1, $2, $3)
               ON CONFLICT (version) DO NOTHING RETURNING version""",
            version,
            agencies,
            now,
        )
        return kept is not None

    async def directory_agencies(self) -> list[dict[str, Any]] | None:
        agencies: list[dict[str, Any]] | None = await self._conn.fetchval(
            "SELECT agencies FROM directory ORDER BY version DESC LIMIT 1"
        )
        return agencies

    async def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        await enqueue(self._conn, messages)
