"""Purging a dead letter from a service's own tables: the copies it has not published yet
(or that Kafka refused for good and the relay parked) go, and its refusals of that record
record who purged them, when and why. The tombstone on hub.dead-letter is the caller's
(`hub deadletters purge`), written before ``mark_purged`` so that a refusal never says purged
while its copy may still be read (see services/runtime/dead_letter.py)."""

from referral_schemas.topics import DEAD_LETTER

from services.runtime.db import Connection
from services.runtime.dead_letter import Origin, dead_letter_key


async def forget_copies(conn: Connection, origin: Origin) -> int:
    """Delete this service's unpublished and parked copies of the refused record; how many."""
    key = dead_letter_key(*origin)
    async with conn.transaction():
        pending = await conn.fetchval(
            """WITH gone AS (DELETE FROM outbox WHERE topic = $1 AND key = $2 RETURNING 1)
               SELECT count(*) FROM gone""",
            DEAD_LETTER,
            key,
        )
        parked = await conn.fetchval(
            """WITH gone AS (DELETE FROM outbox_parked WHERE topic = $1 AND key = $2 RETURNING 1)
               SELECT count(*) FROM gone""",
            DEAD_LETTER,
            key,
        )
    return int(pending) + int(parked)


async def mark_purged(conn: Connection, origin: Origin, *, by: str, note: str) -> int:
    """Record the purge on every refusal of the record not purged yet; how many."""
    done = await conn.fetchval(
        """WITH marked AS (
               UPDATE dead_letters SET purged_at = now(), purged_by = $4, purge_note = $5
                WHERE source_topic = $1 AND source_partition = $2 AND source_offset = $3
                  AND purged_at IS NULL
            RETURNING 1)
           SELECT count(*) FROM marked""",
        *origin,
        by,
        note,
    )
    return int(done)
