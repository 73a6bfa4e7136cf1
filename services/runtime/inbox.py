"""Idempotent consumption: a message is handled at most once per consumer, because the
claim commits (or rolls back) in the same transaction as the handling it guards."""

import uuid
from collections.abc import Sequence

from services.runtime.db import Connection


async def claim(conn: Connection, consumer: str, message_id: uuid.UUID) -> bool:
    """True if this consumer had not handled the message before (now it has, on commit)."""
    row = await conn.fetchrow(
        """INSERT INTO inbox (consumer, message_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING message_id""",
        consumer,
        message_id,
    )
    return row is not None


async def claim_many(
    conn: Connection, consumer: str, message_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among ``message_ids`` this consumer had not handled before, claimed in one
    statement. An id given twice is claimed once."""
    rows = await conn.fetch(
        """INSERT INTO inbox (consumer, message_id)
           SELECT $1, id FROM unnest($2::uuid[]) AS ids(id)
           ON CONFLICT DO NOTHING RETURNING message_id""",
        consumer,
        list(message_ids),
    )
    return {row["message_id"] for row in rows}
