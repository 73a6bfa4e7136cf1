"""Small waits and filters shared by the end-to-end tests."""

import asyncio
from collections.abc import Callable

import asyncpg

from tests.support.kafka import Record


async def wait_outbox_empty(conn: asyncpg.Connection, timeout_s: float = 30.0) -> None:
    """The relay has published everything committed so far."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await conn.fetchval("SELECT count(*) FROM outbox"):
        if loop.time() > deadline:
            raise AssertionError("the outbox relay did not drain the outbox")
        await asyncio.sleep(0.2)


def event_about(event_type: str, intelligence_ref: str) -> Callable[[Record], bool]:
    def match(record: Record) -> bool:
        body = record.json()
        return bool(
            body.get("type") == event_type
            and body.get("data", {}).get("intelligence_ref") == intelligence_ref
        )

    return match


def event_for_referral(event_type: str, referral_id: str) -> Callable[[Record], bool]:
    def match(record: Record) -> bool:
        body = record.json()
        return bool(body.get("type") == event_type and body.get("subject") == referral_id)

    return match


def any_about(intelligence_ref: str) -> Callable[[Record], bool]:
    def match(record: Record) -> bool:
        return bool(record.json().get("data", {}).get("intelligence_ref") == intelligence_ref)

    return match
