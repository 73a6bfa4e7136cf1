"""Waiting for something that happens in another process (a consumer catching up, a broker
taking an ACL): poll until it holds, or fail naming what never happened."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Awaitable[Any]],
    what: str,
    timeout_s: float = 90.0,
    every_s: float = 0.3,
) -> Any:
    """Poll ``check`` until it returns something truthy, and return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(every_s)
