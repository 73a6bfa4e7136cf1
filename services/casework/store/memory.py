"""``InMemoryCaseworkStore``: casework's store in dicts, for handler and use-case tests that
need no database. It keeps what PostgreSQL keeps, as JSON where PostgreSQL keeps JSON, so a
loaded referral is read back the same way; the contract suite keeps the two alike."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from referral_schemas import Envelope, RiskLevel, serialize_event

from services.casework.domain import CaseState, Status, shown
from services.casework.store.seam import (
    IdempotencyKey,
    QueueQuery,
    Stored,
    StoredResponse,
    stored_of,
)
from services.casework.views import timeline_summary
from services.runtime.outbox import OutgoingMessage


def _json(value: Any) -> Any:
    """A copy as jsonb gives it back."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class _Row:
    """One row of ``referrals``: the queue columns and the stored JSON."""

    force: str
    opened_at: datetime
    agency: str | None
    status: str
    area: str | None
    risk_rank: int
    due_by: datetime | None
    state: dict[str, Any]
    pending: list[dict[str, Any]]

    def column(self, name: str) -> str | None:
        return self.agency if name == "agency" else self.force

    def overdue(self, now: datetime) -> bool:
        """The same rule as views.is_overdue (and the SQL queue filter)."""
        waiting = self.status == Status.AWAITING_ACCEPTANCE.value
        return waiting and self.due_by is not None and self.due_by < now

    def order(self, referral_id: uuid.UUID) -> tuple[Any, ...]:
        """risk_rank DESC, due_by NULLS LAST, opened_at, referral_id."""
        due = (self.due_by is None, self.due_by or self.opened_at)
        return (-self.risk_rank, due, self.opened_at, referral_id)


def _matches(row: _Row, q: QueueQuery) -> bool:
    return (
        row.column(q.scope_column) == q.scope
        and (q.status is None or row.status == q.status.value)
        and (q.area is None or row.area == q.area)
        and (q.overdue is None or row.overdue(q.now) == q.overdue)
    )


class InMemoryCaseworkStore:
    """casework's tables in dicts; what it published in ``outbox``. Locks are not needed:
    one test runs one task at a time."""

    def __init__(self) -> None:
        self.referrals: dict[uuid.UUID, _Row] = {}
        self.timelines: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self.event_ids: set[uuid.UUID] = set()
        self.answers: dict[IdempotencyKey, StoredResponse] = {}
        self.directories: dict[int, list[dict[str, Any]]] = {}
        self.outbox: list[OutgoingMessage] = []

    async def load(self, referral_id: uuid.UUID, *, lock: bool) -> Stored | None:
        row = self.referrals.get(referral_id)
        return stored_of(row.state, row.pending) if row is not None else None

    async def save(self, state: CaseState, pending: Sequence[Envelope[Any]] = ()) -> None:
        view = shown(state, pending)
        first = self.referrals.get(state.referral_id)
        self.referrals[state.referral_id] = _Row(
            # As the SQL upsert: force and opened_at are kept from the first save.
            force=first.force if first is not None else state.force,
            opened_at=first.opened_at if first is not None else state.opened_at,
            agency=view.agency,
            status=view.status.value,
            area=view.area,
            risk_rank=RiskLevel(view.risk_level).rank,
            due_by=view.due_by,
            state=_json(state.model_dump(mode="json")),
            pending=[json.loads(serialize_event(e)) for e in pending],
        )

    async def add_to_timeline(self, envelope: Envelope[Any], no_effect: str | None = None) -> None:
        referral_id = envelope.data.referral_id
        if referral_id not in self.referrals:
            raise LookupError("a timeline entry needs its referral stored first")
        if envelope.id in self.event_ids:
            return
        self.event_ids.add(envelope.id)
        entry = {
            "event_id": envelope.id,
            "type": envelope.type,
            "at": envelope.time.astimezone(UTC),
            "actor": envelope.actor,
            "agency": envelope.agency,
            "summary": _json(timeline_summary(envelope.data)),
            "no_effect": no_effect,
            "trace": (envelope.traceparent, envelope.tracestate),
        }
        self.timelines.setdefault(referral_id, []).append(entry)

    async def timeline(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        entries = self.timelines.get(referral_id, [])
        return [{k: v for k, v in e.items() if k != "trace"} for e in entries]

    async def latest_trace(self, referral_id: uuid.UUID) -> tuple[str | None, str | None]:
        traced = [e["trace"] for e in self.timelines.get(referral_id, []) if e["trace"][0]]
        return traced[-1] if traced else (None, None)

    async def queue(self, query: QueueQuery) -> tuple[list[CaseState], int]:
        assert query.scope_column in ("agency", "force")
        found = sorted(
            (row.order(rid), row) for rid, row in self.referrals.items() if _matches(row, query)
        )
        page = found[query.offset : query.offset + query.limit]
        return [stored_of(row.state, row.pending).shown for _, row in page], len(found)

    async def lock_idempotency_key(self, key: IdempotencyKey) -> StoredResponse | None:
        return self.answers.get(key)

    async def store_response(self, key: IdempotencyKey, response: StoredResponse) -> None:
        if key in self.answers:
            raise KeyError("this idempotency key is answered already")
        self.answers[key] = StoredResponse(
            response.fingerprint, response.status_code, _json(response.body)
        )

    async def save_directory(
        self, version: int, agencies: list[dict[str, Any]], now: datetime
    ) -> bool:
        if version in self.directories:
            return False
        self.directories[version] = _json(agencies)
        return True

    async def directory_agencies(self) -> list[dict[str, Any]] | None:
        if not self.directories:
            return None
        agencies: list[dict[str, Any]] = _json(self.directories[max(self.directories)])
        return agencies

    async def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        self.outbox.extend(messages)
