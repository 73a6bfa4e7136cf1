"""Small waits and filters shared by the end-to-end tests."""

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from referral_schemas import newest_sample, parse_event

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


def referral_event(name: str, referral_id: str, **data: Any) -> bytes:
    """A golden sample of a referral event re-aimed at one referral: what routing or
    casework would publish (still a valid event)."""
    message: dict[str, Any] = json.loads(newest_sample(name))
    message.update(id=str(uuid.uuid4()), subject=referral_id, time=datetime.now(UTC).isoformat())
    message["data"].update(referral_id=referral_id, **data)
    raw = json.dumps(message).encode()
    parse_event(raw)  # only what a real producer could send
    return raw


def worked_and_closed(referral_id: str) -> list[bytes]:
    """Routing offers the referral to twc-barrow; its staff accept, work and close it."""
    return [
        referral_event(name, referral_id)
        for name in ("ReferralRouted", "ReferralAccepted", "ReferralCompleted", "ReferralClosed")
    ]


async def intake_status(conn: asyncpg.Connection, referral_id: str) -> str | None:
    status: str | None = await conn.fetchval(
        "SELECT status FROM referrals WHERE referral_id = $1::uuid", referral_id
    )
    return status


async def wait_intake_status(
    conn: asyncpg.Connection, referral_id: str, status: str, timeout_s: float = 60.0
) -> None:
    """Intake has folded the referral's events to ``status``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (found := await intake_status(conn, referral_id)) != status:
        if loop.time() > deadline:
            raise AssertionError(f"intake holds the referral as {found}, not {status}")
        await asyncio.sleep(0.2)
