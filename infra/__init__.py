"""Local infrastructure for development and tests: Kafka (KRaft) and PostgreSQL.

Everything here runs real servers on 127.0.0.1 without Docker; see DESIGN.md section 5.
"""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from services.runtime import key_files

T = TypeVar("T")


class InfraError(RuntimeError):
    """A local server could not be fetched, started or provisioned; the message says why."""


@dataclass(frozen=True)
class ComponentStatus:
    """What ``hub infra status`` shows for one server; ``pid`` is None for external servers."""

    name: str
    running: bool
    address: str
    pid: int | None = None


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    The infra API is synchronous (a CLI and pytest fixtures call it), while the clients
    (aiokafka, asyncpg) are async. A worker thread keeps the caller's event loop untouched,
    so this is safe inside pytest-asyncio sessions and even under a running loop.
    """

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="infra") as pool:
        return pool.submit(asyncio.run, main()).result()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to a file only its owner can read (mode 0600).

    Used for files holding passwords (role secrets, the stack's env file).
    """
    key_files.write_private(path, text.encode())
