"""routing's handlers against real PostgreSQL, without Kafka: a throw-away schema migrated
with routing's migrations, events built from the contract, and each call handling one or
several records in ONE transaction, as the consumer shell does.

Test modules import the fixtures from here explicitly."""

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from referral_schemas import (
    Envelope,
    EventData,
    ReferralOpened,
    make_envelope,
    parse_event,
    serialize_event,
)
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import DIRECTORY, REFERRAL_EVENTS

from services.routing.handlers import make_handlers
from services.runtime.clock import CausalIds
from services.runtime.consumer import Handler, HandlerContext
from services.runtime.db import create_pool
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.migrations import migrate_service
from services.runtime.outbox import OutgoingMessage
from tests.integration.runtime_fixtures import fresh_schema
from tests.support.clock import FixedClock
from tests.support.directory import cumbria_directory

MIGRATIONS = Path(__file__).parents[2] / "services" / "routing" / "migrations"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ISA = "cumbria-1clic-isa-v1"
CONSUMER = "routing"
AGGREGATE = """SELECT holding_agency AS agency, count(*) AS n FROM referrals
                WHERE holding_agency IS NOT NULL GROUP BY holding_agency"""


class Rollback(Exception):
    """Raised inside a transaction to roll it back, as a failing handler would."""


def directory(version: int, **overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(version, **overrides))


def envelope(data: EventData) -> Envelope[Any]:
    subject = str(getattr(data, "referral_id", "directory"))
    return make_envelope(
        data,
        id=uuid.uuid4(),
        source="referral-hub/test",
        time=NOW,
        subject=subject,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor="system:test",
    )


@dataclass
class RoutingInstance:
    """One routing process's handlers (with its own directory cache) on a shared database."""

    pool: "asyncpg.Pool[Any]"
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    offset: int = 0

    def __post_init__(self) -> None:
        self.on_directory, self.on_referral_event = make_handlers(ISA)

    async def handle(self, *events: EventData) -> list[dict[str, Any]]:
        """Handle the events in order in one transaction; the events published, as JSON."""
        return await self.deliver(*(envelope(data) for data in events))

    async def deliver(self, *events: Envelope[Any]) -> list[dict[str, Any]]:
        """As ``handle``, for whole envelopes (e.g. routing's own, coming back)."""
        async with self.pool.acquire() as conn, conn.transaction():
            out: list[OutgoingMessage] = []
            for event in events:
                out += await self._one(conn, event)
        return [json.loads(m.value) for m in out]

    async def land(self, published: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Routing's own published events reach it through the log, as published."""
        return await self.deliver(*(parse_event(json.dumps(e).encode()) for e in published))

    async def handle_then_roll_back(self, *events: EventData) -> list[dict[str, Any]]:
        """As ``handle``, but the transaction then fails and rolls back."""
        out: list[OutgoingMessage] = []
        with contextlib.suppress(Rollback):
            async with self.pool.acquire() as conn, conn.transaction():
                for data in events:
                    out += await self._one(conn, envelope(data))
                raise Rollback
        return [json.loads(m.value) for m in out]

    async def _one(self, conn: Any, event: Envelope[Any]) -> list[OutgoingMessage]:
        is_directory = isinstance(event.data, DirectoryPublished)
        handler: Handler = self.on_directory if is_directory else self.on_referral_event
        self.offset += 1
        topic = DIRECTORY if is_directory else REFERRAL_EVENTS
        record = ReceivedRecord(
            topic, 0, self.offset, event.subject.encode(), serialize_event(event), ()
        )
        context = HandlerContext(CONSUMER, self.clock, CausalIds(CONSUMER, event.id), record)
        return list(await handler(conn, event, context))


async def kept_counts(pool: "asyncpg.Pool[Any]") -> dict[str, int]:
    rows = await pool.fetch("SELECT agency, open FROM agency_open_counts WHERE open <> 0")
    return {r["agency"]: r["open"] for r in rows}


async def aggregate_counts(pool: "asyncpg.Pool[Any]") -> dict[str, int]:
    return {r["agency"]: r["n"] for r in await pool.fetch(AGGREGATE)}


async def status_of(pool: "asyncpg.Pool[Any]", referral: ReferralOpened) -> tuple[str, str | None]:
    """The referral's status and agency as routing counts it (its pending decisions in)."""
    row = await pool.fetchrow(
        "SELECT status, agency FROM referrals WHERE referral_id = $1", referral.referral_id
    )
    assert row is not None
    return row["status"], row["agency"]


@pytest.fixture
async def routing_pool(stack_env: dict[str, str]) -> AsyncIterator["asyncpg.Pool[Any]"]:
    """A fresh routing schema per test: open counts never leak between tests."""
    async with fresh_schema(stack_env) as schema:
        pool = await create_pool(schema.dsn, min_size=1, max_size=4)
        try:
            async with pool.acquire() as conn:
                await migrate_service(conn, "routing", MIGRATIONS)
            yield pool
        finally:
            await pool.close()


def later(clock: FixedClock, hours: int) -> datetime:
    clock.at = clock.at + timedelta(hours=hours)
    return clock.at
