"""Statements collected from another service's store functions, then sent as pipelined
batches. Replay writes rebuilt state with casework's own ``store.save`` (its SQL and its
arguments), but one round trip per referral would dominate a replay of the whole log.

Only ``execute`` is offered: a store function that reads (``fetch``, ``fetchval``, ...)
fails loudly here instead of being answered wrongly. Order is kept: consecutive runs of the
same statement become one ``executemany``, so the statements reach the database in exactly
the order they were issued.
"""

from itertools import groupby
from typing import Any, cast

from services.runtime.db import Connection


class StatementBatch:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append((sql, args))
        return ""

    def as_connection(self) -> Connection:
        """Itself, typed as what store functions take (it only records their ``execute``)."""
        return cast(Connection, self)

    async def run(self, conn: Connection) -> int:
        """Send everything collected, in order, on ``conn`` (inside the caller's
        transaction); the number of statements."""
        statements, self.statements = self.statements, []
        for sql, run in groupby(statements, key=lambda statement: statement[0]):
            await conn.executemany(sql, [args for _, args in run])
        return len(statements)
