"""Dead-lettering: the refused record goes, unchanged, to the dead-letter topic with a
machine-readable reason in its headers, through the outbox, and is counted in the service's
``dead_letters`` table for operators. A redelivered record is dead-lettered once."""

import uuid
from dataclasses import dataclass

import asyncpg
from referral_schemas.topics import DEAD_LETTER

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
    return OutgoingMessage(DEAD_LETTER, record.key, record.value, headers)


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


async def list_dead_letters(conn: Connection, limit: int = 100) -> list[asyncpg.Record]:
    """The newest refusals first: reason, detail and origin, never the payload."""
    return list(
        await conn.fetch(
            """SELECT dead_lettered_at, consumer, reason, detail, source_topic,
                      source_partition, source_offset
                 FROM dead_letters ORDER BY id DESC LIMIT $1""",
            limit,
        )
    )
