"""Small waits and filters shared by the end-to-end tests."""

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from referral_schemas import load_sample, parse_event

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


def referral_event(name: str, referral_id: str, **data: Any) -> bytes:
    """A golden sample of a referral event re-aimed at one referral: what routing or
    casework would publish (still a valid event)."""
    message: dict[str, Any] = json.loads(load_sample(f"{name}.v1"))
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
