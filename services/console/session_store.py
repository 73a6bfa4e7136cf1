"""Where sessions live: the console's own PostgreSQL schema (table ``sessions``).

Every instance of the console reads the same rows, so a session survives a restart and works
behind a load balancer, and a sign-out on one instance ends the session on all of them. Rows
are keyed by the SHA-256 of the session id: the store never sees an id a cookie could carry.
The clock is passed in by the caller, never read here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg


@dataclass(frozen=True)
class StoredSession:
    data: dict[str, Any]
    last_seen_at: datetime
    expires_at: datetime
    """The absolute end of the session, whatever the activity."""


class SessionStore(Protocol):
    async def load(self, key: bytes) -> StoredSession | None: ...

    async def create(
        self, key: bytes, data: dict[str, Any], now: datetime, expires_at: datetime
    ) -> None: ...

    async def save(self, key: bytes, data: dict[str, Any], now: datetime) -> bool:
        """Update an existing session (never recreate one: a sign-out racing this request
        must win); False when the session is gone."""
        ...

    async def delete(self, key: bytes) -> None: ...

    async def purge(self, now: datetime, idle: timedelta) -> int:
        """Delete ended sessions; how many."""
        ...


class PgSessionStore:
    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def load(self, key: bytes) -> StoredSession | None:
        row = await self._pool.fetchrow(
            "SELECT data, last_seen_at, expires_at FROM sessions WHERE id_hash = $1", key
        )
        if row is None:
            return None
        return StoredSession(row["data"], row["last_seen_at"], row["expires_at"])

    async def create(
        self, key: bytes, data: dict[str, Any], now: datetime, expires_at: datetime
    ) -> None:
        await self._pool.execute(
            "INSERT INTO sessions (id_hash, data, created_at, last_seen_at, expires_at)"
            " VALUES ($1, $2, $3, $3, $4)",
            key,
            data,
            now,
            expires_at,
        )

    async def save(self, key: bytes, data: dict[str, Any], now: datetime) -> bool:
        status: str = await self._pool.execute(
            "UPDATE sessions SET data = $2, last_seen_at = $3 WHERE id_hash = $1", key, data, now
        )
        return status == "UPDATE 1"

    async def delete(self, key: bytes) -> None:
        await self._pool.execute("DELETE FROM sessions WHERE id_hash = $1", key)

    async def purge(self, now: datetime, idle: timedelta) -> int:
        status: str = await self._pool.execute(
            "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2", now, now - idle
        )
        return int(status.rsplit(" ", 1)[-1])
