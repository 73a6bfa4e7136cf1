"""Row-per-aggregate state: fetch one row locked until commit, creating it blank if absent."""

import uuid

import asyncpg

from services.runtime.db import Connection


async def lock_or_create(conn: Connection, table: str, key: uuid.UUID) -> asyncpg.Record:
    """The row of ``table`` whose ``referral_id`` is ``key``, FOR UPDATE.

    The row is created first so two instances meeting a new referral during a rebalance
    serialise on it instead of both inserting. ``table`` is a constant of the caller's code.
    """
    await conn.execute(f"INSERT INTO {table} (referral_id) VALUES ($1) ON CONFLICT DO NOTHING", key)
    row = await conn.fetchrow(f"SELECT * FROM {table} WHERE referral_id = $1 FOR UPDATE", key)
    assert row is not None, "inserted just above"
    return row
