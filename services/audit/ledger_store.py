"""Where the ledger consumer appends: the ``LedgerStore`` seam, its PostgreSQL
implementation (``PgLedgerStore``, store.py's SQL through the service's pool) and an
in-memory one for fast tests (``InMemoryLedgerStore``). One contract suite
(tests/integration/test_ledger_store_contract.py) runs against both.

Only the ledger's write path is here; the auditors' reads have their own seam
(auditor_store.py)."""

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from services.audit import store
from services.audit.chain import GENESIS, LedgerEntry, make_entry, of_referral
from services.audit.entries import RecordFacts, entry_content
from services.audit.store import AppendCounts
from services.runtime.provenance import TrustStore

Offset = tuple[str, int, int]
"""A record's (topic, partition, offset): how a redelivery is recognised."""


class LedgerStore(Protocol):
    async def append(self, records: Sequence[RecordFacts], trust: TrustStore) -> AppendCounts:
        """Ledger ``records`` in order, all or none, each with its producer as verified by
        ``trust``: a record already ledgered (same topic, partition, offset) is skipped, a
        resent event (same identity) kept as a copy, anything else chained to the head."""

    async def head(self) -> tuple[int, bytes]:
        """The last position and its hash (0 and the genesis hash for an empty ledger)."""

    async def entries(self) -> list[LedgerEntry]:
        """Every entry, in position order."""

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        """The referral's entries and the collection of its intelligence, in position order."""


class PgLedgerStore:
    """The ledger's tables through the service's pool: each append is one transaction
    under the ledger's lock (store.append)."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def append(self, records: Sequence[RecordFacts], trust: TrustStore) -> AppendCounts:
        async with self._pool.acquire() as conn, conn.transaction():
            return await store.append(conn, records, trust)

    async def head(self) -> tuple[int, bytes]:
        async with self._pool.acquire() as conn:
            return await store.head(conn)

    async def entries(self) -> list[LedgerEntry]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [entry async for entry in store.iter_entries(conn)]

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        async with self._pool.acquire() as conn:
            return await store.referral_entries(conn, referral_id)


class InMemoryLedgerStore:
    """Entries in a list, copies in a dict: for ledger consumer tests that need no
    database. An append that raises keeps nothing of its batch."""

    def __init__(self) -> None:
        self.ledger: list[LedgerEntry] = []
        self.copies: dict[Offset, int] = {}
        """Each copy's (topic, partition, offset) and the position of its original."""
        self._positions: dict[str, int] = {}
        self._referral_heads: dict[uuid.UUID, bytes] = {}

    async def append(self, records: Sequence[RecordFacts], trust: TrustStore) -> AppendCounts:
        ledger, copies = list(self.ledger), dict(self.copies)
        positions, heads = dict(self._positions), dict(self._referral_heads)
        seen = {_offset_of(e) for e in ledger} | set(copies)
        position, previous = (ledger[-1].position, ledger[-1].hash) if ledger else (0, GENESIS)
        appended = copied = already = 0
        for record in records:
            where = (record.topic, record.partition, record.offset)
            if where in seen:
                already += 1
                continue
            seen.add(where)
            content = entry_content(record, trust)
            identity = content.identity()
            if identity in positions:
                copies[where] = positions[identity]
                copied += 1
                continue
            position += 1
            rid = content.referral_id
            entry = make_entry(position, previous, content, None if rid is None else heads.get(rid))
            if rid is not None and entry.referral_hash is not None:
                heads[rid] = entry.referral_hash
            ledger.append(entry)
            positions[identity], previous = position, entry.hash
            appended += 1
        self.ledger, self.copies = ledger, copies
        self._positions, self._referral_heads = positions, heads
        return AppendCounts(appended, copied, already)

    async def head(self) -> tuple[int, bytes]:
        return (self.ledger[-1].position, self.ledger[-1].hash) if self.ledger else (0, GENESIS)

    async def entries(self) -> list[LedgerEntry]:
        return list(self.ledger)

    async def referral_entries(self, referral_id: uuid.UUID) -> list[LedgerEntry]:
        return of_referral(self.ledger, referral_id)


def _offset_of(entry: LedgerEntry) -> Offset:
    return (entry.content.topic, entry.content.partition, entry.content.offset)
