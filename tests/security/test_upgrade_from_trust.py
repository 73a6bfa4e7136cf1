"""A developer's stack from before passwords keeps working, and is locked on the next start.

A throw-away embedded PostgreSQL (its own state dir and port) is set up as older versions
left it: ``trust`` for every connection, a superuser without a password, and an audit schema
the audit role owns and migrated itself. Starting and provisioning it with this version must
require passwords and hand the audit schema to its owner, keeping the ledger's rows.
"""

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from infra import postgres_local
from infra.database import DATABASE, ensure_database, ensure_service_role, with_database
from infra.schema_owner import migrations_folder, owner_role
from infra.settings import LOCALHOST, InfraSettings
from services.runtime.migrations import migrate_service

pytestmark = pytest.mark.security


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def old_server() -> Iterator[InfraSettings]:
    """An embedded server initialised the way versions before passwords did (trust).

    Not under pytest's tmp dir: as root the server runs as its own user, which must pass
    through every folder above its data, and each pytest session closes that tmp dir again.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="referral-hub-upgrade-"))
    settings = InfraSettings(state_dir=state_dir, pg_port=_free_port(), database_url=None)
    user = postgres_local._system_user()
    postgres_local._prepare_dirs(settings, user)
    argv = [str(postgres_local.bin_dir() / "initdb"), "-D", str(settings.root / "postgres/data")]
    argv += ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"]
    postgres_local._run_as(user, argv, settings.root / "postgres" / "initdb.out", timeout=300)
    try:
        yield settings
    finally:
        postgres_local.stop(settings)
        shutil.rmtree(state_dir)


def _trusting_dsn(settings: InfraSettings, database: str = "postgres") -> str:
    return f"postgresql://postgres@{LOCALHOST}:{settings.pg_port}/{database}"


async def _legacy_audit_schema(settings: InfraSettings) -> None:
    """What the old `hub up` left: the audit role owns its schema and migrated it itself."""
    await ensure_database(_trusting_dsn(settings))
    admin = await asyncpg.connect(_trusting_dsn(settings, DATABASE))
    try:
        await admin.execute("CREATE ROLE audit LOGIN PASSWORD 'old-password-of-audit'")
        await admin.execute("CREATE SCHEMA audit AUTHORIZATION audit")
        await admin.execute("GRANT CONNECT ON DATABASE referral_hub TO audit")
        await admin.execute("ALTER ROLE audit SET search_path = audit")
    finally:
        await admin.close()
    audit = await asyncpg.connect(with_database(_trusting_dsn(settings), DATABASE, user="audit"))
    try:
        await migrate_service(audit, "audit", migrations_folder("audit"))
        await audit.execute(
            """INSERT INTO ledger (position, identity, topic, partition, "offset",
                                   value_sha256, value_bytes, prev_hash, hash)
               VALUES (1, 'old', 'police.intelligence', 0, 0, 'x', 0, '\\x00', '\\x01')"""
        )
    finally:
        await audit.close()


async def test_a_trusting_stack_requires_passwords_and_hands_the_ledger_to_its_owner(
    old_server: InfraSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = old_server
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with monkeypatch.context() as old_version:
        old_version.setattr(postgres_local, "_require_passwords", lambda *_: None)
        postgres_local.start(settings)
    await _legacy_audit_schema(settings)

    postgres_local.start(settings)  # already running: only converts it
    admin_dsn = postgres_local.admin_dsn(settings)
    audit_dsn = await ensure_service_role(admin_dsn, "audit", settings=settings)

    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_trusting_dsn(settings), passfile=str(tmp_path / "none"))
    hba = (postgres_local.pg_dir(settings) / "data" / "pg_hba.conf").read_text()
    assert "trust" not in hba
    assert hba == postgres_local.HBA
    audit = await asyncpg.connect(audit_dsn)
    try:
        assert await audit.fetchval("SELECT identity FROM ledger WHERE position = 1") == "old"
        owners = await audit.fetch(
            """SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class
                WHERE relnamespace = 'audit'::regnamespace"""
        )
        assert [r["owner"] for r in owners] == [owner_role("audit")]
        for sql in ("ALTER TABLE ledger DISABLE TRIGGER ALL", "UPDATE ledger SET actor = 'x'"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await audit.execute(sql)
        assert await migrate_service(audit, "audit", migrations_folder("audit")) == []
    finally:
        await audit.close()
