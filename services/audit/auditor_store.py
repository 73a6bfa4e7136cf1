"""What the auditors' use cases (usecases.py) read and record: the ``AuditorStore`` seam, its
PostgreSQL implementation on one connection (``PgAuditorStore``) and an in-memory one for
fast tests (``InMemoryAuditorStore``). The ledger is only read here; what is written is a
consultation, to the outbox, inside ``transaction()``."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit import export, store
from services.audit.chain import GENESIS, LedgerEntry, of_referral, walk
from services.audit.entries import time_text
from services.audit.record_reader import RecordSource
from services.audit.store import ReferralActivity
from services.audit.verification import Verification, conclude, verify_database
from services.audit.views import referral_effects
from services.runtime.db import Connection
from services.runtime.outbox import OutgoingMessage, enqueue


@dataclass(frozen=True)
class ExportScope:
    """One referral, or the entries appended in [start, end) (either bound may be open)."""

    referral: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


class AuditorStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[object]:
        """Reads and records inside it commit together (or not at all)."""

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        """The referral's entries and the collection of its intelligence, in ledger order."""

    async def referrals_in_period(
        self, start: datetime | None, end: datetime | None, *, limit: int, offset: int
    ) -> tuple[int, list[ReferralActivity]]:
        """Referrals with entries appended in [start, end), most recently active first."""

    async def verify(self, public: Ed25519PublicKey) -> Verification:
        """Every chain recomputed and every checkpoint checked, in one snapshot."""

    async def gather(self, scope: ExportScope, records: RecordSource | None) -> export.Export:
        """What an export of ``scope`` holds, in one snapshot (outside ``transaction()``)."""

    async def record(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish ``messages`` through the outbox (inside ``transaction()``)."""


class PgAuditorStore:
    """The ledger's tables and the outbox through the service's pool: one connection for
    each read, or the one ``transaction()`` holds while it is open. One per request."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool
        self._held: Connection | None = None

    def transaction(self) -> AbstractAsyncContextManager[object]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[object]:
        async with self._pool.acquire() as conn, conn.transaction():
            self._held = conn
            try:
                yield conn
            finally:
                self._held = None

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Connection]:
        if self._held is not None:
            yield self._held
            return
        async with self._pool.acquire() as conn:
            yield conn

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        async with self._conn() as conn:
            return await store.referral_entries(conn, referral_id)

    async def referrals_in_period(
        self, start: datetime | None, end: datetime | None, *, limit: int, offset: int
    ) -> tuple[int, list[ReferralActivity]]:
        async with self._conn() as conn:
            return await store.referrals_in_period(conn, start, end, limit=limit, offset=offset)

    async def verify(self, public: Ed25519PublicKey) -> Verification:
        async with self._conn() as conn:
            return await verify_database(conn, public)

    async def gather(self, scope: ExportScope, records: RecordSource | None) -> export.Export:
        async with self._conn() as conn:
            return await export.gather(
                conn, referral=scope.referral, start=scope.start, end=scope.end, records=records
            )

    async def record(self, messages: Sequence[OutgoingMessage]) -> None:
        if self._held is None:
            raise RuntimeError("record() belongs inside transaction()")
        await enqueue(self._held, messages)


class InMemoryAuditorStore:
    """Entries (each with when it was ledgered) in a list, the outbox in a list: for use-case
    tests that need no database. A transaction that raises takes back what it recorded."""

    def __init__(self) -> None:
        self.entries: list[tuple[LedgerEntry, datetime]] = []
        self.checkpoints: list[AuditCheckpoint] = []
        self.outbox: list[OutgoingMessage] = []

    def add(self, entry: LedgerEntry, ledgered_at: datetime) -> None:
        self.entries.append((entry, ledgered_at))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[object]:
        kept = len(self.outbox)
        try:
            yield self
        except BaseException:
            del self.outbox[kept:]
            raise

    def transaction(self) -> AbstractAsyncContextManager[object]:
        return self._transaction()

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        return of_referral((e for e, _ in self.entries), referral_id)

    def _in(
        self, start: datetime | None, end: datetime | None
    ) -> list[tuple[LedgerEntry, datetime]]:
        return [
            (e, at)
            for e, at in self.entries
            if (start is None or at >= start) and (end is None or at < end)
        ]

    async def referrals_in_period(
        self, start: datetime | None, end: datetime | None, *, limit: int, offset: int
    ) -> tuple[int, list[ReferralActivity]]:
        found: dict[uuid.UUID, list[tuple[LedgerEntry, datetime]]] = {}
        for e, at in self._in(start, end):
            if e.content.referral_id is not None:
                found.setdefault(e.content.referral_id, []).append((e, at))
        activity = [
            ReferralActivity(
                rid,
                len(rows),
                sum(1 for e, _ in rows if e.content.category == "consultation"),
                min(at for _, at in rows),
                max(at for _, at in rows),
            )
            for rid, rows in found.items()
        ]
        activity.sort(key=lambda a: (-a.last_at.timestamp(), str(a.referral_id)))
        return len(activity), activity[offset : offset + limit]

    async def verify(self, public: Ed25519PublicKey) -> Verification:
        ordered = [e for e, _ in self.entries]
        positions = {e.hash: e.position for e in ordered}
        walker = walk(ordered, positions.get, frozenset(cp.count for cp in self.checkpoints))
        producers = Counter(
            e.content.producer or f"({e.content.provenance or 'not checked'})"
            for e in ordered[: walker.count + 1]
        )
        result = conclude(walker, self.checkpoints, public)
        return replace(result, producers=tuple(producers.most_common()))

    async def gather(self, scope: ExportScope, records: RecordSource | None) -> export.Export:
        head = self.entries[-1][0].hash if self.entries else GENESIS
        checkpoint = self.checkpoints[-1] if self.checkpoints else None
        if scope.referral is not None:
            entries = await self.referral_entries(scope.referral)
            marks = await referral_effects(entries, records)
            shown: dict[str, Any] = {"referral_id": str(scope.referral)}
            return export.Export(shown, entries, checkpoint, len(self.entries), head.hex(), marks)
        inside = [e for e, _ in self._in(scope.start, scope.end)]
        if inside:  # a contiguous stretch, as the database's export takes it
            first, last = min(e.position for e in inside), max(e.position for e in inside)
            inside = [e for e, _ in self.entries if first <= e.position <= last]
        shown = {"from": time_text(scope.start), "to": time_text(scope.end)}
        return export.Export(shown, inside, checkpoint, len(self.entries), head.hex())

    async def record(self, messages: Sequence[OutgoingMessage]) -> None:
        self.outbox.extend(messages)
