"""The keyring: every referral's data keys, wrapped, kept apart from the data they seal.

One table, ``keyring.data_keys``, in a schema of its own owned by a role nobody logs in as
(``infra.keyring_schema``): intake may add and destroy keys, casework may only read them,
no other service may touch them. Destroying a referral's rows is erasure: what the keys
sealed stays on the log and in the tables, unreadable (docs/privacy.md).
"""

import uuid
from collections.abc import Sequence

from services.runtime.db import Connection
from services.runtime.sealing import WrappedKey

TABLE = "keyring.data_keys"


async def keep(conn: Connection, referral_id: uuid.UUID, key: WrappedKey) -> None:
    """In the caller's transaction, the one that publishes what the key sealed."""
    await conn.execute(
        f"""INSERT INTO {TABLE} (key_id, referral_id, ephemeral_public, nonce, wrapped)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO NOTHING""",
        key.key_id,
        referral_id,
        key.ephemeral_public,
        key.nonce,
        key.wrapped,
    )


async def find(conn: Connection, referral_id: uuid.UUID, key_id: uuid.UUID) -> WrappedKey | None:
    """The referral's key ``key_id``, or None once destroyed (or never kept)."""
    row = await conn.fetchrow(
        f"""SELECT ephemeral_public, nonce, wrapped FROM {TABLE}
             WHERE key_id = $1 AND referral_id = $2""",
        key_id,
        referral_id,
    )
    if row is None:
        return None
    return WrappedKey(key_id, bytes(row["ephemeral_public"]), bytes(row["nonce"]), row["wrapped"])


async def destroy(conn: Connection, referral_ids: Sequence[uuid.UUID]) -> int:
    """Destroy every key of these referrals; returns how many there were."""
    deleted = await conn.fetch(
        f"DELETE FROM {TABLE} WHERE referral_id = ANY($1::uuid[]) RETURNING key_id",
        list(referral_ids),
    )
    return len(deleted)
