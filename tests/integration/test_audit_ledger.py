"""The ledger on the real database: one chained entry per record, redelivery and resends
add no entry, the service's role can only INSERT and SELECT, triggers refuse changes, and
checkpoints are signed, stored and published through the outbox."""

import uuid

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas.audit_v1 import AuditCheckpoint
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

from services.audit.checkpoints import make_checkpoint
from services.audit.entries import RecordFacts, parse_record
from services.audit.signing import SigningKey
from services.audit.verification import verify_database
from services.runtime.clock import SystemClock
from services.runtime.db import connect
from services.runtime.migrations import migrate_service
from tests.integration.test_audit_support import (
    AUDIT_MIGRATIONS,
    append,
    event_bytes,
    ledger_schema,
    record,
    referral_records,
)

pytestmark = pytest.mark.integration
KEY = SigningKey(Ed25519PrivateKey.generate())


async def test_each_record_is_one_chained_entry_and_redelivery_adds_nothing(
    stack_env: dict[str, str],
) -> None:
    rid = uuid.uuid4()
    records = referral_records(rid)
    async with ledger_schema(stack_env) as schema:
        first = await append(schema, records)
        again = await append(schema, records)
        assert (first.appended, again.appended, again.already) == (6, 0, 6)
        rows = await schema.fetch(
            'SELECT position, topic, "offset", category, referral_id FROM ledger ORDER BY 1'
        )
        assert [r["position"] for r in rows] == [1, 2, 3, 4, 5, 6]
        assert [r["offset"] for r in rows] == [r.offset for r in records]
        assert [r["category"] for r in rows] == [
            "alteration",
            "disclosure",
            "collection",
            "alteration",
            "consultation",
            "alteration",
        ]
        conn = await schema.connect()
        try:
            result = await verify_database(conn, KEY.public)
        finally:
            await conn.close()
        assert result.ok, result.findings
        assert (result.entries, result.referrals) == (6, 1)


async def test_a_resent_event_is_kept_as_a_copy_not_a_second_entry(
    stack_env: dict[str, str],
) -> None:
    value = event_bytes("ReferralAccepted.v1", uuid.uuid4())
    original, resent = record(REFERRAL_EVENTS, value), record(REFERRAL_EVENTS, value)
    async with ledger_schema(stack_env) as schema:
        counts = await append(schema, [original, resent])
        assert (counts.appended, counts.copies) == (1, 1)
        copy = (await schema.fetch('SELECT "offset", of_position FROM ledger_copies'))[0]
        assert (copy["offset"], copy["of_position"]) == (resent.offset, 1)
        assert (await append(schema, [resent])).already == 1


async def test_triggers_refuse_update_delete_and_truncate_even_to_the_owner(
    stack_env: dict[str, str],
) -> None:
    async with ledger_schema(stack_env) as schema:
        await append(schema, referral_records(uuid.uuid4()))
        conn = await schema.connect()
        try:
            for sql in (
                "UPDATE ledger SET actor = 'user:x' WHERE position = 1",
                "DELETE FROM ledger WHERE position = 6",
                "TRUNCATE ledger CASCADE",
                "DELETE FROM checkpoints",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                    await conn.execute(sql)
            assert await conn.fetchval("SELECT count(*) FROM ledger") == 6
        finally:
            await conn.close()


async def test_the_service_role_cannot_update_or_delete_the_ledger(
    stack_env: dict[str, str],
) -> None:
    conn = await connect(stack_env["AUDIT_DATABASE_URL"])
    try:
        await migrate_service(conn, "audit", AUDIT_MIGRATIONS)
        for sql in ("UPDATE ledger SET actor = actor", "DELETE FROM ledger", "TRUNCATE ledger"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        rights = await conn.fetchrow(
            """SELECT has_table_privilege('ledger', 'INSERT') AS insert,
                      has_table_privilege('ledger', 'SELECT') AS select,
                      has_table_privilege('ledger', 'UPDATE') AS update,
                      has_table_privilege('ledger', 'DELETE') AS delete"""
        )
        assert rights is not None
        assert dict(rights) == {"insert": True, "select": True, "update": False, "delete": False}
    finally:
        await conn.close()


async def test_checkpoints_are_signed_stored_published_and_not_repeated_when_idle(
    stack_env: dict[str, str],
) -> None:
    async with ledger_schema(stack_env) as schema:
        await append(schema, referral_records(uuid.uuid4()))
        conn = await schema.connect()
        try:
            first = await make_checkpoint(conn, KEY, SystemClock())
            assert first is not None
            assert (first.sequence, first.count) == (1, 6)
            assert await make_checkpoint(conn, KEY, SystemClock()) is None, "nothing new"
            published = await conn.fetchrow("SELECT topic, key, value FROM outbox")
            assert published is not None
            assert (published["topic"], published["key"]) == (ACCESS_EVENTS, b"audit")
            envelope, _ = parse_record(published["value"])
            assert envelope is not None
            assert isinstance(envelope.data, AuditCheckpoint)
            assert envelope.data == first
            # Our own checkpoint record comes back through hub.access and is ledgered ...
            back = RecordFacts(ACCESS_EVENTS, 0, 1, None, b"audit", published["value"])
            await append(schema, [back])
            # ... which alone does not call for another periodic checkpoint,
            assert await make_checkpoint(conn, KEY, SystemClock()) is None
            # but one on demand covers it.
            second = await make_checkpoint(conn, KEY, SystemClock(), on_demand=True)
            assert second is not None
            assert (second.sequence, second.count) == (2, 7)
            result = await verify_database(conn, KEY.public)
            assert result.ok, result.findings
            assert result.checkpoints_verified == 2
        finally:
            await conn.close()
