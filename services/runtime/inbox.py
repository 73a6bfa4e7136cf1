"""Idempotent consumption: a message is handled at most once per consumer, because the
claim commits (or rolls back) in the same transaction as the handling it guards."""

import uuid

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
