"""The keyring (the referrals' data keys) on the test stack's real PostgreSQL: intake may add
and destroy keys, casework may only read them, every other service is refused outright, and
nobody may alter the table or its rights (docs/privacy.md)."""

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra.database import SERVICES

pytestmark = pytest.mark.security

KEY = f"""'{uuid.uuid4()}', '{uuid.uuid4()}', '\\x00'::bytea, '\\x00'::bytea, '\\x00'::bytea"""
INSERT = (
    "INSERT INTO keyring.data_keys (key_id, referral_id, ephemeral_public, nonce, wrapped) "
    f"VALUES ({KEY})"
)
READ = "SELECT count(*) FROM keyring.data_keys"
DESTROY = "DELETE FROM keyring.data_keys WHERE referral_id = gen_random_uuid()"
ALTER = [
    "ALTER TABLE keyring.data_keys ADD COLUMN plain text",
    "DROP TABLE keyring.data_keys",
]


@contextlib.asynccontextmanager
async def _as(env: dict[str, str], service: str) -> AsyncIterator[asyncpg.Connection]:
    """The service's own login, in a transaction always rolled back."""
    conn = await asyncpg.connect(env[f"{service.upper()}_DATABASE_URL"])
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def _allowed(conn: asyncpg.Connection, sql: str) -> bool:
    try:
        async with conn.transaction():
            await conn.execute(sql)
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


@pytest.mark.parametrize("service", SERVICES)
async def test_only_intake_keeps_and_destroys_keys_and_only_casework_also_reads_them(
    service: str, stack_env: dict[str, str]
) -> None:
    async with _as(stack_env, service) as conn:
        rights = {sql: await _allowed(conn, sql) for sql in (READ, INSERT, DESTROY)}
        altered = [sql for sql in ALTER if await _allowed(conn, sql)]
        # A GRANT without the grant option only warns: what counts is that nothing changed.
        await _allowed(conn, "GRANT SELECT ON keyring.data_keys TO routing")
        sees_the_table = rights[READ]
        spread = sees_the_table and await conn.fetchval(
            "SELECT has_table_privilege('routing', 'keyring.data_keys', 'SELECT')"
        )
    expected = {
        "intake": {READ: True, INSERT: True, DESTROY: True},
        "casework": {READ: True, INSERT: False, DESTROY: False},
    }.get(service, {READ: False, INSERT: False, DESTROY: False})
    assert rights == expected
    assert altered == [], f"{service} may alter the keyring"
    assert spread is False, f"{service} gave routing the keys"
