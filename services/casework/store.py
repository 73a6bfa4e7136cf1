"""casework's tables (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from referral_schemas import Envelope, RiskLevel, parse_event, serialize_event

from services.casework.domain import CaseState, Status, shown
from services.casework.views import timeline_summary
from services.runtime.db import Connection


@dataclass(frozen=True)
class Stored:
    """A referral as stored: the log's fold, and casework's own decisions not yet read back
    from the log, in the order decided."""

    state: CaseState
    pending: tuple[Envelope[Any], ...] = ()

    @property
    def shown(self) -> CaseState:
        """What decisions are made against and staff see (see ``domain.shown``)."""
        return shown(self.state, self.pending)


def _pending_of(value: list[dict[str, Any]]) -> tuple[Envelope[Any], ...]:
    return tuple(parse_event(json.dumps(item).encode()) for item in value)


def _stored(row: Any) -> Stored:
    return Stored(CaseState.model_validate(row["state"]), _pending_of(row["pending"]))


async def load(conn: Connection, referral_id: uuid.UUID, *, lock: bool) -> Stored | None:
    """The referral; ``lock`` holds its row until commit (for a decision or a fold)."""
    sql = "SELECT state, pending FROM referrals WHERE referral_id = $1" + (
        " FOR UPDATE" if lock else ""
    )
    row = await conn.fetchrow(sql, referral_id)
    return _stored(row) if row is not None else None


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
    """At the event's log position; ``no_effect``: the code of the shared fold's refusal."""
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
        """SELECT event_id, type, at, actor, agency, summary, no_effect FROM timeline
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
        overdue = f"(status = 'awaiting_acceptance' AND due_by < {param(q.now)})"
        conditions.append(f"{overdue} IS {'TRUE' if q.overdue else 'NOT TRUE'}")
    return " AND ".join(conditions), args


async def queue(conn: Connection, q: QueueQuery) -> tuple[list[CaseState], int]:
    """Ordered by risk (critical first) then acceptance deadline; one page and the total,
    each referral as staff see it (``Stored.shown``)."""
    assert q.scope_column in ("agency", "force")
    where, args = _queue_filter(q)
    total = await conn.fetchval(f"SELECT count(*) FROM referrals WHERE {where}", *args)
    rows = await conn.fetch(
        f"""SELECT state, pending FROM referrals WHERE {where}
             ORDER BY risk_rank DESC, due_by NULLS LAST, opened_at, referral_id
             LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args,
        q.limit,
        q.offset,
    )
    return [_stored(r).shown for r in rows], int(total)


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyKey:
    """An Idempotency-Key as sent by one user at one agency or force (``scope``)."""

    scope: str
    user: str
    key: str

    def text(self) -> str:
        return f"{self.scope}\x1f{self.user}\x1f{self.key}"


async def lock_idempotency_key(conn: Connection, key: IdempotencyKey) -> StoredResponse | None:
    """Serialise requests with one key until commit; the stored answer if any."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7300002))", key.text())
    row = await conn.fetchrow(
        """SELECT fingerprint, status_code, body FROM idempotency
            WHERE scope = $1 AND user_id = $2 AND key = $3""",
        key.scope,
        key.user,
        key.key,
    )
    if row is None:
        return None
    return StoredResponse(row["fingerprint"], row["status_code"], row["body"])


async def store_response(conn: Connection, key: IdempotencyKey, response: StoredResponse) -> None:
    await conn.execute(
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
    conn: Connection, version: int, agencies: list[dict[str, Any]], now: datetime
) -> bool:
    """Keep a directory version's agencies; False if that version was already kept."""
    kept = await conn.fetchval(
        """INSERT INTO directory (version, agencies, received_at) VALUES ($1, $2, $3)
           ON CONFLICT (version) DO NOTHING RETURNING version""",
        version,
        agencies,
        now,
    )
    return kept is not None


async def directory_agencies(conn: Connection) -> list[dict[str, Any]] | None:
    """The agencies of the directory in force (the highest version received), or None
    before any version was received."""
    agencies: list[dict[str, Any]] | None = await conn.fetchval(
        "SELECT agencies FROM directory ORDER BY version DESC LIMIT 1"
    )
    return agencies
