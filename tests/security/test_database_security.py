"""The database of a running stack, probed as an attacker on the same machine would.

Real embedded PostgreSQL (the test stack): nobody gets in without the right password, the
audit service cannot rewrite its own ledger, every service role has its timeouts.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from infra import postgres_local
from infra.database import SERVICES
from infra.schema_owner import OWNED_SCHEMAS, owner_role
from infra.settings import LOCALHOST, InfraSettings

pytestmark = pytest.mark.security

APPEND_ONLY = OWNED_SCHEMAS["audit"]


def _no_pgpass(tmp_path: Path) -> Path:
    """A password file that does not exist: asyncpg must not find a password anywhere else."""
    return tmp_path / "no-pgpass"


@pytest.fixture(autouse=True)
def _no_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)


async def _connect_as(
    settings: InfraSettings, user: str, password: str | None, passfile: Path, host: str = ""
) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=host or LOCALHOST,
        port=settings.pg_port,
        user=user,
        password=password,
        database="postgres",
        passfile=str(passfile),
    )


@pytest.mark.parametrize("password", [None, "", "wrong-password"], ids=["none", "empty", "wrong"])
async def test_the_superuser_cannot_connect_without_its_password(
    stack_env: dict[str, str], infra_settings: InfraSettings, tmp_path: Path, password: str | None
) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect_as(infra_settings, "postgres", password, _no_pgpass(tmp_path))


async def test_the_unix_socket_asks_for_the_password_too(
    stack_env: dict[str, str], infra_settings: InfraSettings, tmp_path: Path
) -> None:
    socket_dir = str(postgres_local.socket_dir(infra_settings))
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect_as(infra_settings, "postgres", None, _no_pgpass(tmp_path), socket_dir)


async def test_with_its_password_the_superuser_gets_in(stack_env: dict[str, str]) -> None:
    conn = await asyncpg.connect(stack_env["HUB_ADMIN_DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT current_setting('is_superuser')") == "on"
        methods = await conn.fetch("SELECT DISTINCT auth_method FROM pg_hba_file_rules")
        assert [r["auth_method"] for r in methods] == ["scram-sha-256"], "no trust line"
        assert await conn.fetchval("SHOW password_encryption") == "scram-sha-256"
        stored = await conn.fetch(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL"
        )
        assert {r["rolname"] for r in stored} == {"postgres", *SERVICES}
        assert all(r["rolpassword"].startswith("SCRAM-SHA-256$") for r in stored)
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_needs_its_own_password(
    stack_env: dict[str, str], infra_settings: InfraSettings, tmp_path: Path, service: str
) -> None:
    passfile = _no_pgpass(tmp_path)
    for password in (None, "wrong-password", _password_of(stack_env, _other(service))):
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _connect_as(infra_settings, service, password, passfile)
    conn = await asyncpg.connect(stack_env[f"{service.upper()}_DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT current_user") == service
    finally:
        await conn.close()


async def test_nobody_logs_in_as_the_ledger_owner(
    stack_env: dict[str, str], infra_settings: InfraSettings, tmp_path: Path
) -> None:
    for password in (None, _password_of(stack_env, "audit")):
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _connect_as(infra_settings, owner_role("audit"), password, _no_pgpass(tmp_path))


@contextlib.asynccontextmanager
async def _as_audit(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    """The audit service's own login, in a transaction that is always rolled back (this is
    the test stack's live ledger: nothing tried here may stay)."""
    conn = await asyncpg.connect(stack_env["AUDIT_DATABASE_URL"])
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def _refused(conn: asyncpg.Connection, sql: str) -> None:
    """``sql`` fails for lack of rights, and the transaction goes on (a savepoint)."""
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute(sql)


@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_the_audit_role_cannot_change_or_unlock_an_append_only_table(
    stack_env: dict[str, str], table: str
) -> None:
    async with _as_audit(stack_env) as conn:
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal",
            table,
        )
        assert triggers == 1
        column = await _first_column(conn, table)
        for sql in (
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"ALTER TABLE {table} OWNER TO audit",
            f"UPDATE {table} SET {column} = {column}",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
            f"DROP TABLE {table}",
            f"SET ROLE {owner_role('audit')}",
        ):
            await _refused(conn, sql)
        # A GRANT without the grant option changes nothing (PostgreSQL only warns).
        await conn.execute(f"GRANT ALL ON {table} TO audit, intake")
        rights = await conn.fetchrow(
            f"""SELECT has_table_privilege('audit', '{table}', 'UPDATE') AS update,
                       has_table_privilege('audit', '{table}', 'DELETE') AS delete,
                       has_table_privilege('audit', '{table}', 'TRUNCATE') AS truncate,
                       has_table_privilege('intake', 'audit.{table}', 'SELECT') AS intake,
                       has_table_privilege('audit', '{table}', 'INSERT') AS insert,
                       has_table_privilege('audit', '{table}', 'SELECT') AS select"""
        )
        assert dict(rights or {}) == {
            "update": False,
            "delete": False,
            "truncate": False,
            "intake": False,
            "insert": True,
            "select": True,
        }
        disabled = await conn.fetchval(
            """SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                WHERE c.relnamespace = 'audit'::regnamespace AND t.tgenabled <> 'O'"""
        )
        assert disabled == 0


async def test_the_audit_role_appends_to_and_reads_the_ledger(stack_env: dict[str, str]) -> None:
    async with _as_audit(stack_env) as conn:
        position = 1 + await conn.fetchval("SELECT coalesce(max(position), 0) FROM ledger")
        identity = f"security-test/{uuid.uuid4()}"
        await conn.execute(
            """INSERT INTO ledger (position, identity, topic, partition, "offset",
                                   value_sha256, value_bytes, prev_hash, hash)
               VALUES ($1, $2, 'security-test', 0, $1, 'x', 0, '\\x00', $3)""",
            position,
            identity,
            uuid.uuid4().bytes,
        )
        assert await conn.fetchval("SELECT identity FROM ledger WHERE position = $1", position)
        await _refused(conn, f"UPDATE ledger SET actor = 'me' WHERE position = {position}")
        await _refused(conn, "CREATE TABLE ledger_shadow (position bigint)")


async def test_every_append_only_table_of_the_audit_schema_is_listed(
    stack_env: dict[str, str],
) -> None:
    """A table the audit migrations guard with the append-only trigger must also be one the
    audit role may only INSERT into and SELECT from (``OWNED_SCHEMAS``)."""
    async with _as_audit(stack_env) as conn:
        guarded = await conn.fetch(
            """SELECT DISTINCT c.relname FROM pg_trigger t
                 JOIN pg_class c ON c.oid = t.tgrelid
                 JOIN pg_proc p ON p.oid = t.tgfoid
                WHERE c.relnamespace = 'audit'::regnamespace
                  AND p.proname = 'refuse_ledger_change'"""
        )
        owners = await conn.fetch(
            """SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class
                WHERE relnamespace = 'audit'::regnamespace"""
        )
    assert sorted(r["relname"] for r in guarded) == sorted(APPEND_ONLY)
    assert [r["owner"] for r in owners] == [owner_role("audit")]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_has_statement_and_idle_transaction_timeouts(
    stack_env: dict[str, str], service: str
) -> None:
    conn = await asyncpg.connect(stack_env[f"{service.upper()}_DATABASE_URL"])
    try:
        statement = await conn.fetchval("SHOW statement_timeout")
        idle = await conn.fetchval("SHOW idle_in_transaction_session_timeout")
        assert (statement, idle) == ("30s", "1min")
    finally:
        await conn.close()


def _password_of(stack_env: dict[str, str], service: str) -> str:
    password = urlsplit(stack_env[f"{service.upper()}_DATABASE_URL"]).password
    assert password
    return password


def _other(service: str) -> str:
    return SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)]


async def _first_column(conn: asyncpg.Connection, table: str) -> str:
    name = await conn.fetchval(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = 1", table
    )
    return f'"{name}"'
