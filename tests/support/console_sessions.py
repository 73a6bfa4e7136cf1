"""The console's session store, twice: a hand-written in-memory fake for unit tests, and the
real one on the console's own PostgreSQL role and schema for tests against the stack."""

import copy
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.console.main import migrate
from services.console.session_store import PgSessionStore, StoredSession
from services.runtime.db import create_pool


class MemorySessionStore:
    """Behaves like ``PgSessionStore`` (update never recreates; purge by the same rules)."""

    def __init__(self) -> None:
        self.rows: dict[bytes, tuple[dict[str, Any], datetime, datetime]] = {}

    async def load(self, key: bytes) -> StoredSession | None:
        row = self.rows.get(key)
        return None if row is None else StoredSession(copy.deepcopy(row[0]), row[1], row[2])

    async def create(
        self, key: bytes, data: dict[str, Any], now: datetime, expires_at: datetime
    ) -> None:
        assert key not in self.rows
        self.rows[key] = (copy.deepcopy(data), now, expires_at)

    async def save(self, key: bytes, data: dict[str, Any], now: datetime) -> bool:
        if key not in self.rows:
            return False
        self.rows[key] = (copy.deepcopy(data), now, self.rows[key][2])
        return True

    async def delete(self, key: bytes) -> None:
        self.rows.pop(key, None)

    async def purge(self, now: datetime, idle: timedelta) -> int:
        ended = [k for k, (_, seen, ends) in self.rows.items() if ends <= now or seen < now - idle]
        for key in ended:
            del self.rows[key]
        return len(ended)


@pytest.fixture(scope="session")
async def console_pool(stack_env: dict[str, str]) -> AsyncIterator["asyncpg.Pool[Any]"]:
    """A pool as the console's own role, its migrations applied (as the console does)."""
    pool = await create_pool(stack_env["CONSOLE_DATABASE_URL"], min_size=1, max_size=4)
    await migrate(pool)
    yield pool
    await pool.close()


@pytest.fixture
def pg_sessions(console_pool: "asyncpg.Pool[Any]") -> PgSessionStore:
    return PgSessionStore(console_pool)
