"""Small waits and filters shared by the end-to-end tests."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.runtime.migrations import migrate_service
from tests.support.kafka import Record

SERVICES_DIR = Path(__file__).parents[2] / "services"
TEST_HOLDER = "e2e-test"


async def hold_relay_lease(conn: asyncpg.Connection, service: str, timeout_s: float = 30) -> None:
    """Take the service's relay lease for an hour, as a relay of no instance, so the service
    commits but cannot publish. ``conn`` is the service's own role; a lease a stopped
    instance left behind expires within seconds, one a running instance renews does not."""
    await migrate_service(conn, service, SERVICES_DIR / service / "migrations")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await conn.fetchval(
        """INSERT INTO relay_lease (holder, epoch, expires_at)
           VALUES ($1, 1, now() + interval '1 hour')
           ON CONFLICT (singleton) DO UPDATE
              SET holder = excluded.holder, epoch = relay_lease.epoch + 1,
                  expires_at = excluded.expires_at
            WHERE relay_lease.expires_at < now()
           RETURNING true""",
        TEST_HOLDER,
    ):
        if loop.time() > deadline:
            raise AssertionError(f"a running {service} relay keeps its lease; stop it first")
        await asyncio.sleep(0.5)


async def release_relay_lease(conn: asyncpg.Connection) -> None:
    """Let the relay lease held by ``hold_relay_lease`` expire now."""
    await conn.execute(
        "UPDATE relay_lease SET expires_at = now() - interval '1 second' WHERE holder = $1",
        TEST_HOLDER,
    )


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
