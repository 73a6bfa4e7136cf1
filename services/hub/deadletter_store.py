"""Reading and answering dead letters across the services' own schemas, as the operator:
each service's database URL from the stack's env file, one connection at a time."""

import contextlib
import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.hub.deadletter_groups import Refusal, RefusedMessage, group
from services.hub.services_commands import SERVICES
from services.runtime.dead_letter import (
    Origin,
    find_dead_letter,
    letters_from,
    list_dead_letters,
)

REFUSING = tuple(s for s in SERVICES if s != "console")  # the console consumes no topic


@asynccontextmanager
async def service_db(env: dict[str, str], service: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(env[f"{service.upper()}_DATABASE_URL"])
    try:
        yield conn
    finally:
        await conn.close()


def refusing(env: dict[str, str]) -> tuple[str, ...]:
    """The consuming services this stack has a database for."""
    return tuple(s for s in REFUSING if f"{s.upper()}_DATABASE_URL" in env)


async def recent_messages(env: dict[str, str], limit: int) -> list[RefusedMessage]:
    """The newest refused messages, each with every refusal of it among the newest rows."""
    found: list[Refusal] = []
    for service in refusing(env):
        async with service_db(env, service) as conn:
            with contextlib.suppress(asyncpg.UndefinedTableError):  # never started yet
                found += [Refusal(service, row) for row in await list_dead_letters(conn, limit)]
    return group(found)[:limit]


async def message_of(env: dict[str, str], service: str, row_id: int) -> RefusedMessage | None:
    """The message that ``service``'s dead letter ``row_id`` is a refusal of, with every
    service's refusals of the same record; None when there is no such dead letter."""
    row = None
    async with service_db(env, service) as conn:
        with contextlib.suppress(asyncpg.UndefinedTableError):  # never started yet
            row = await find_dead_letter(conn, row_id)
    if row is None:
        return None
    return await message_from(env, Refusal(service, row).origin)


async def message_from(env: dict[str, str], origin: Origin) -> RefusedMessage | None:
    found: list[Refusal] = []
    for service in refusing(env):
        async with service_db(env, service) as conn:
            with contextlib.suppress(asyncpg.UndefinedTableError):  # never started yet
                found += [Refusal(service, row) for row in await letters_from(conn, origin)]
    messages = group(found)
    return messages[0] if messages else None


def operator_name() -> str:
    """Who is answering, as the dead letter records it."""
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator:unknown"
