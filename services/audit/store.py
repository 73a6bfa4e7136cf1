"""The ledger's tables (asyncpg): appending under one lock, and reading entries back.

Appends are serialised by a transaction-level advisory lock per schema, so positions have
no gaps and the chain is linear however many instances consume. A record already ledgered
(same topic, partition and offset) is skipped: redelivery adds nothing.
"""

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.audit.chain import GENESIS, LedgerEntry, make_entry
from services.audit.entries import EntryContent, RecordFacts, entry_content
from services.runtime.db import Connection
from services.runtime.provenance import TrustStore

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('audit-ledger/' || current_schema(), 0))"
_COLUMNS = """position, topic, partition, "offset", record_timestamp_ms, key_sha256,
    value_sha256, value_bytes, event_id, type, event_time, actor, agency, subject,
    correlation_id, referral_id, category, recipients, purpose, intelligence, parse_error,
    dead_letter, producer, provenance, prev_hash, hash, referral_prev_hash, referral_hash"""


@dataclass(frozen=True)
class AppendCounts:
    appended: int = 0
    copies: int = 0
    already: int = 0


async def lock_ledger(conn: Connection) -> None:
    """Until the transaction ends, nobody else appends (or signs a checkpoint)."""
    await conn.execute(_LOCK)


async def head(conn: Connection) -> tuple[int, bytes]:
    """The last position and its hash (0 and the genesis hash for an empty ledger)."""
    row = await conn.fetchrow("SELECT position, hash FROM ledger ORDER BY position DESC LIMIT 1")
    return (0, GENESIS) if row is None else (int(row["position"]), bytes(row["hash"]))


async def append(
    conn: Connection, records: Sequence[RecordFacts], trust: TrustStore
) -> AppendCounts:
    """Ledger ``records`` in order, in the caller's transaction, each with its verified
    producer (``trust``)."""
    await lock_ledger(conn)
    position, previous = await head(conn)
    appended = copies = already = 0
    for record in records:
        if await _seen(conn, record):
            already += 1
            continue
        content = entry_content(record, trust)
        identity = content.identity()
        original = await conn.fetchval("SELECT position FROM ledger WHERE identity = $1", identity)
        if original is not None:
            await _insert_copy(conn, record, identity, int(original), content.value_sha256)
            copies += 1
            continue
        position += 1
        previous = await _insert_entry(conn, position, previous, identity, content)
        appended += 1
    return AppendCounts(appended, copies, already)


async def _seen(conn: Connection, record: RecordFacts) -> bool:
    found = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM ledger WHERE topic = $1 AND partition = $2
                                 AND "offset" = $3)
               OR EXISTS (SELECT 1 FROM ledger_copies WHERE topic = $1 AND partition = $2
                                 AND "offset" = $3)""",
        record.topic,
        record.partition,
        record.offset,
    )
    return bool(found)


async def _insert_copy(
    conn: Connection, record: RecordFacts, identity: str, of_position: int, value_sha256: str
) -> None:
    await conn.execute(
        """INSERT INTO ledger_copies (topic, partition, "offset", identity, of_position,
               value_sha256) VALUES ($1, $2, $3, $4, $5, $6)""",
        record.topic,
        record.partition,
        record.offset,
        identity,
        of_position,
        value_sha256,
    )


async def _insert_entry(
    conn: Connection, position: int, previous: bytes, identity: str, c: EntryContent
) -> bytes:
    referral_previous = None
    if c.referral_id is not None:
        last = await conn.fetchval(
            """SELECT referral_hash FROM ledger WHERE referral_id = $1
                ORDER BY position DESC LIMIT 1""",
            c.referral_id,
        )
        referral_previous = None if last is None else bytes(last)
    entry = make_entry(position, previous, c, referral_previous)
    await insert_entry(conn, identity, entry)
    return entry.hash


_INSERT_ENTRY = f"""INSERT INTO ledger (identity, {_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
            $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"""


async def insert_entry(conn: Connection, identity: str, entry: LedgerEntry) -> None:
    """One row, exactly as given (appends go through ``append``)."""
    await conn.execute(_INSERT_ENTRY, *_entry_values(identity, entry))


_COPY_COLUMNS = ["identity", *(c.strip().strip('"') for c in _COLUMNS.split(","))]


async def copy_entries(conn: Connection, entries: Iterable[LedgerEntry]) -> None:
    """Rows exactly as given, with the values ``insert_entry`` writes, in one COPY (a
    replay writes its whole rebuilt ledger at once)."""
    rows = [_entry_values(e.content.identity(), e) for e in entries]
    await conn.copy_records_to_table("ledger", records=rows, columns=_COPY_COLUMNS)


def _entry_values(identity: str, entry: LedgerEntry) -> tuple[Any, ...]:
    return (
        identity,
        entry.position,
        *_content_values(entry.content),
        entry.prev_hash,
        entry.hash,
        entry.referral_prev_hash,
        entry.referral_hash,
    )


def _content_values(c: EntryContent) -> tuple[Any, ...]:
    return (
        c.topic,
        c.partition,
        c.offset,
        c.record_timestamp_ms,
        c.key_sha256,
        c.value_sha256,
        c.value_bytes,
        c.event_id,
        c.type,
        c.event_time,
        c.actor,
        c.agency,
        c.subject,
        c.correlation_id,
        c.referral_id,
        c.category,
        list(c.recipients),
        c.purpose,
        c.intelligence,
        c.parse_error,
        c.dead_letter,
        c.producer,
        c.provenance,
    )


def entry_of(row: asyncpg.Record) -> LedgerEntry:
    content = EntryContent(
        topic=row["topic"],
        partition=row["partition"],
        offset=row["offset"],
        record_timestamp_ms=row["record_timestamp_ms"],
        key_sha256=row["key_sha256"],
        value_sha256=row["value_sha256"],
        value_bytes=row["value_bytes"],
        event_id=row["event_id"],
        type=row["type"],
        event_time=row["event_time"],
        actor=row["actor"],
        agency=row["agency"],
        subject=row["subject"],
        correlation_id=row["correlation_id"],
        referral_id=row["referral_id"],
        category=row["category"],
        recipients=tuple(row["recipients"]),
        purpose=row["purpose"],
        intelligence=row["intelligence"],
        parse_error=row["parse_error"],
        dead_letter=row["dead_letter"],
        producer=row["producer"],
        provenance=row["provenance"],
    )
    return LedgerEntry(
        position=row["position"],
        content=content,
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
        referral_prev_hash=_bytes(row["referral_prev_hash"]),
        referral_hash=_bytes(row["referral_hash"]),
    )


def _bytes(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


async def iter_entries(
    conn: Connection, where: str = "TRUE", *args: Any, batch: int = 2000
) -> AsyncIterator[LedgerEntry]:
    """Entries in position order, streamed (the caller holds a transaction open)."""
    sql = f"SELECT {_COLUMNS} FROM ledger WHERE {where} ORDER BY position"
    async for row in conn.cursor(sql, *args, prefetch=batch):
        yield entry_of(row)


async def period_span(
    conn: Connection, start: datetime | None, end: datetime | None
) -> tuple[int, int] | None:
    """The first and last positions appended in [start, end) (None: nothing was)."""
    row = await conn.fetchrow(
        """SELECT min(position) AS a, max(position) AS b FROM ledger
            WHERE ledgered_at >= COALESCE($1::timestamptz, '-infinity')
              AND ledgered_at < COALESCE($2::timestamptz, 'infinity')""",
        start,
        end,
    )
    assert row is not None
    return None if row["a"] is None else (int(row["a"]), int(row["b"]))


def iter_span(conn: Connection, first: int, last: int) -> AsyncIterator[LedgerEntry]:
    """The entries from position ``first`` to ``last``, streamed (in a transaction)."""
    return iter_entries(conn, "position BETWEEN $1 AND $2", first, last)


async def position_of_hash(conn: Connection, digest: bytes) -> int | None:
    found = await conn.fetchval("SELECT position FROM ledger WHERE hash = $1", digest)
    return None if found is None else int(found)


async def referral_entries(conn: Connection, referral_id: uuid.UUID) -> list[LedgerEntry]:
    """The referral's entries, and the collection of the intelligence it was opened from or
    combined with, in position order."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ledger
             WHERE referral_id = $1
                OR (referral_id IS NULL AND intelligence IN (
                        SELECT intelligence FROM ledger
                         WHERE referral_id = $1 AND intelligence IS NOT NULL))
             ORDER BY position""",
        referral_id,
    )
    return [entry_of(r) for r in rows]


@dataclass(frozen=True)
class ReferralActivity:
    referral_id: uuid.UUID
    entries: int
    consultations: int
    first_at: datetime
    last_at: datetime


_PERIOD = """referral_id IS NOT NULL
    AND ledgered_at >= COALESCE($1::timestamptz, '-infinity')
    AND ledgered_at < COALESCE($2::timestamptz, 'infinity')"""


async def referrals_in_period(
    conn: Connection, start: datetime | None, end: datetime | None, *, limit: int, offset: int
) -> tuple[int, list[ReferralActivity]]:
    """Referrals with entries appended in [start, end) (the period an export covers), most
    recently active first: how many in all, and one page of them with their counts."""
    total = await conn.fetchval(
        f"SELECT count(DISTINCT referral_id) FROM ledger WHERE {_PERIOD}", start, end
    )
    rows = await conn.fetch(
        f"""SELECT referral_id, count(*) AS entries,
                   count(*) FILTER (WHERE category = 'consultation') AS consultations,
                   min(ledgered_at) AS first_at, max(ledgered_at) AS last_at
              FROM ledger WHERE {_PERIOD}
             GROUP BY referral_id
             ORDER BY max(ledgered_at) DESC, referral_id
             LIMIT $3 OFFSET $4""",
        start,
        end,
        limit,
        offset,
    )
    return int(total), [
        ReferralActivity(
            r["referral_id"], r["entries"], r["consultations"], r["first_at"], r["last_at"]
        )
        for r in rows
    ]
