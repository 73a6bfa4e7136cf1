"""Dead-lettering: the refused record goes, unchanged, to the dead-letter topic with a
machine-readable reason in its headers, through the outbox, and is counted in the service's
``dead_letters`` table for operators. A redelivered record is dead-lettered once.

**One copy per refused message.** Several consumers may refuse the same record (a forgery on
referral.events is refused by intake, routing, casework, feedback and insights). Each still
records its own row and publishes its own copy, in the same transaction as the row: the
refusal and its copy commit or vanish together, the relay publishes at least once, and no
consumer depends on another having done its part (a designated refuser that is down, lagging
or of another version would leave the message without a copy). The copies share one Kafka
key, the record's origin (``dead_letter_key``: topic, partition and offset, the same for
every consumer), and hub.dead-letter is a compacted topic (infra/topics.py): the log cleaner
keeps the latest record per key, so the topic settles on one copy per refused message, and
a reader that takes the last record per key (as compaction defines the topic) sees one
already. A relay that crashes after publishing and republishes adds one more copy of the
same key, which compaction removes the same way.

**Purge** (``hub deadletters purge``) writes a tombstone (the key with no value): the
cleaner then drops every copy of that key, and the tombstone itself after the topic's
``delete.retention.ms``. Copies not yet published (outbox) or parked are deleted from the
service's own tables first (``forget_copies``), and each refusal records who purged it, when
and why (``mark_purged``); a purged message is never re-driven.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from referral_schemas.topics import DEAD_LETTER

from services.runtime.clock import id_for_record
from services.runtime.db import Connection
from services.runtime.inbox import claim
from services.runtime.outbox import OutgoingMessage, enqueue
from services.runtime.provenance import SIGNATURE_HEADERS


@dataclass(frozen=True)
class ReceivedRecord:
    """A Kafka record as the consumer shell sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def dead_letter_message(
    record: ReceivedRecord, consumer: str, reason: str, detail: str
) -> OutgoingMessage:
    headers = (
        # The relay signs the dead letter as this service; what the record claimed stays.
        *((f"dlq.original.{n}" if n in SIGNATURE_HEADERS else n, v) for n, v in record.headers),
        ("dlq.reason", reason.encode()),
        ("dlq.detail", detail.encode()),
        ("dlq.consumer", consumer.encode()),
        ("dlq.source.topic", record.topic.encode()),
        ("dlq.source.partition", str(record.partition).encode()),
        ("dlq.source.offset", str(record.offset).encode()),
    )
    return OutgoingMessage(
        DEAD_LETTER,
        dead_letter_key(record.topic, record.partition, record.offset),
        record.value,
        headers,
    )


def dead_letter_key(topic: str, partition: int, offset: int) -> bytes:
    """The key of a refused record's copies on hub.dead-letter: where it came from. Every
    consumer that refuses that record gives its copy this key, so compaction keeps one."""
    return f"{topic}/{partition}/{offset}".encode()


async def dead_letter(
    conn: Connection,
    record: ReceivedRecord,
    *,
    consumer: str,
    message_id: uuid.UUID,
    reason: str,
    detail: str,
    event_id: uuid.UUID | None,
) -> bool:
    """Record and forward one refused record; False if it was already handled."""
    async with conn.transaction():
        if not await claim(conn, consumer, message_id):
            return False
        await conn.execute(
            """INSERT INTO dead_letters (consumer, reason, detail, source_topic,
                   source_partition, source_offset, event_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            consumer,
            reason,
            detail,
            record.topic,
            record.partition,
            record.offset,
            event_id,
        )
        await enqueue(conn, [dead_letter_message(record, consumer, reason, detail)])
    return True


NOT_REPLAYABLE = frozenset({"bad_signature", "untrusted_producer"})
"""Refusals a re-drive cannot change: the record's producer is not trusted."""

DeadLetter = dict[str, Any]
"""One row of ``dead_letters``: id, dead_lettered_at, consumer, reason, detail,
source_topic, source_partition, source_offset, event_id, replayed_at, replayed_by,
replay_note, purged_at, purged_by, purge_note (the re-drive and purge columns None when
never re-driven or purged, or in a schema a service of an earlier version made and has not
migrated yet)."""

_ANSWERS = ("replayed_at", "replayed_by", "replay_note", "purged_at", "purged_by", "purge_note")


def _letter(row: asyncpg.Record) -> DeadLetter:
    found: DeadLetter = dict(row.items())
    return {**dict.fromkeys(_ANSWERS), **found}


async def list_dead_letters(conn: Connection, limit: int = 100) -> list[DeadLetter]:
    """The newest refusals first: reason, detail, origin and any re-drive, never the payload."""
    rows = await conn.fetch("SELECT * FROM dead_letters ORDER BY id DESC LIMIT $1", limit)
    return [_letter(row) for row in rows]


async def find_dead_letter(conn: Connection, row_id: int) -> DeadLetter | None:
    row = await conn.fetchrow("SELECT * FROM dead_letters WHERE id = $1", row_id)
    return None if row is None else _letter(row)


Origin = tuple[str, int, int]
"""Where a refused record came from: topic, partition, offset."""


async def letters_from(conn: Connection, origin: Origin) -> list[DeadLetter]:
    """This service's refusals of the record at ``origin`` (one per consumer of its topic)."""
    rows = await conn.fetch(
        """SELECT * FROM dead_letters
            WHERE source_topic = $1 AND source_partition = $2 AND source_offset = $3
            ORDER BY id""",
        *origin,
    )
    return [_letter(row) for row in rows]


async def release_for_replay(conn: Connection, row: DeadLetter, *, by: str, note: str) -> None:
    """Let the consumer that refused the record handle it again (its inbox claim goes) and
    record who asked and why. The caller then publishes the record again."""
    message_id = row["event_id"] or id_for_record(
        row["source_topic"], row["source_partition"], row["source_offset"]
    )
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM inbox WHERE consumer = $1 AND message_id = $2",
            row["consumer"],
            message_id,
        )
        await conn.execute(
            """UPDATE dead_letters SET replayed_at = now(), replayed_by = $2, replay_note = $3
                WHERE id = $1""",
            row["id"],
            by,
            note,
        )
