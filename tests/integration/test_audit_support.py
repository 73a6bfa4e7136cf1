"""Helpers for the audit integration tests (no tests here): a migrated throw-away ledger
schema, records about a referral, and tampering as a superuser who bypasses the triggers."""

import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from referral_schemas import load_sample
from referral_schemas.topics import ACCESS_EVENTS, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.audit import store
from services.audit.entries import RecordFacts
from tests.integration.runtime_fixtures import Schema, fresh_schema, migrate
from tests.support.provenance import this_runs_trust

AUDIT_MIGRATIONS = Path("services/audit/migrations")
_offsets = itertools.count(1)


@contextlib.asynccontextmanager
async def ledger_schema(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    async with fresh_schema(stack_env) as schema:
        await migrate(schema, "audit", AUDIT_MIGRATIONS)
        yield schema


def event_bytes(sample: str, referral_id: uuid.UUID | None = None, **attrs: Any) -> bytes:
    """A golden sample with a fresh event id (about ``referral_id``, if given)."""
    event: dict[str, Any] = json.loads(load_sample(sample))
    event["id"] = str(uuid.uuid4())
    if referral_id is not None:
        event["data"]["referral_id"] = str(referral_id)
        event["subject"] = str(referral_id)
    event.update(attrs)
    return json.dumps(event).encode()


def record(topic: str, value: bytes, key: bytes | None = b"key") -> RecordFacts:
    return RecordFacts(topic, 0, next(_offsets), 1_700_000_000_000, key, value)


def referral_records(referral_id: uuid.UUID) -> list[RecordFacts]:
    """A short history: opened, routed, accepted, consulted, plus unreadable intelligence."""
    key = str(referral_id).encode()
    return [
        record(REFERRAL_EVENTS, event_bytes("ReferralOpened.v2", referral_id), key),
        record(REFERRAL_EVENTS, event_bytes("ReferralRouted.v1", referral_id), key),
        record(POLICE_INTELLIGENCE, b"\x00 not an event", None),
        record(REFERRAL_EVENTS, event_bytes("ReferralAccepted.v1", referral_id), key),
        record(ACCESS_EVENTS, event_bytes("ReferralConsulted.v1", referral_id), key),
        record(REFERRAL_EVENTS, event_bytes("ContactAttempted.v1", referral_id), key),
    ]


async def append(schema: Schema, records: list[RecordFacts]) -> store.AppendCounts:
    conn = await schema.connect()
    try:
        async with conn.transaction():
            return await store.append(conn, records, this_runs_trust())
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def as_superuser_bypassing_triggers(schema: Schema) -> AsyncIterator[asyncpg.Connection]:
    """What an attacker with the database's superuser can do: disable the triggers."""
    conn = await schema.connect()
    try:
        await conn.execute("SET session_replication_role = replica")
        yield conn
    finally:
        await conn.close()
