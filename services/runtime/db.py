"""The asyncpg pool. Created explicitly by a service's main, never at import time.

Every service connection carries time limits (``SessionLimits``) so that a process that
hangs (a GC pause, stuck I/O, SIGSTOP) cannot hold locks for as long as it hangs: its open
transaction is ended by the server after ``idle_in_transaction_ms``, a statement that waits
on someone else's lock gives up after ``lock_timeout_ms``, and no statement runs longer than
``statement_timeout_ms``. docs/runtime.md ("Hung instances") explains the numbers.
"""

import json
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = "asyncpg.Connection | PoolConnectionProxy[Any]"
"""A connection, whether taken from the pool or opened alone."""


@dataclass(frozen=True)
class SessionLimits:
    """PostgreSQL time limits of one session, in milliseconds; 0 switches one off."""

    idle_in_transaction_ms: int = 5_000
    lock_timeout_ms: int = 3_000
    statement_timeout_ms: int = 60_000

    def server_settings(self) -> dict[str, str]:
        return {
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "statement_timeout": str(self.statement_timeout_ms),
        }


def _settings(limits: SessionLimits | None) -> dict[str, str]:
    """None (tools that are not services, e.g. a replay): the server's and role's defaults."""
    return limits.server_settings() if limits is not None else {}


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(dsn: str, limits: SessionLimits | None = None) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool's (for long-lived listeners)."""
    conn = await asyncpg.connect(dsn, server_settings=_settings(limits))
    await _init_connection(conn)
    return conn


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, limits: SessionLimits | None = None
) -> "asyncpg.Pool[Any]":
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings=_settings(limits),
    )
    assert pool is not None
    return pool
