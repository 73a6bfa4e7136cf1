"""The shared database and one role + schema per service (DESIGN.md section 4).

Each service owns its schema and never reads another's tables; the database enforces that:
a service role owns only its schema, has no CREATE on ``public`` and no grants elsewhere.
Passwords are generated once and kept in ``<state_dir>/secrets/db-roles.json`` (mode 0600).

Audit is the exception (``infra.schema_owner``): its schema belongs to a role nobody logs in
as, so the audit service can append to its ledger but never alter it. Every service role
has a statement and an idle-in-transaction timeout.
"""

import contextlib
import json
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from infra import InfraError, write_private
from infra.keyring_schema import PROVISION_LOCK
from infra.schema_owner import (
    OWNED_SCHEMAS,
    ensure_owner,
    grant_service_rights,
    migrate_as_owner,
)
from infra.settings import InfraSettings

DATABASE = "referral_hub"
# The console consumes no topic; its schema holds its server-side sessions.
SERVICES = ("intake", "routing", "casework", "feedback", "audit", "insights", "console")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
_PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,}")
_PROVISION_LOCK = PROVISION_LOCK

# Set on every service role (a session may lower or raise them for itself). A service's
# statements are single-row writes and indexed reads, well under a second; the longest are
# whole-table digests and cursor fetches of `hub audit replay`/verify (seconds on 135,000
# records, docs/performance.md), each statement on its own. 30 s stops a runaway query long
# before it starves the others. A transaction left open by a stuck or killed client holds its
# row locks and the relay's batch; 60 s frees them while tolerating a slow broker answer.
STATEMENT_TIMEOUT = "30s"
IDLE_IN_TRANSACTION_TIMEOUT = "60s"


def with_database(dsn: str, database: str, user: str | None = None, password: str = "") -> str:
    """``dsn`` pointing at another database and, if ``user`` is given, another login."""
    url = urlsplit(dsn)
    netloc = url.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    return urlunsplit((url.scheme, netloc, f"/{database}", url.query, url.fragment))


async def ensure_database(admin_dsn: str, name: str = DATABASE) -> None:
    """Create database ``name`` if missing, and close it to roles we did not grant CONNECT."""
    _check_identifier(name)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # DuplicateDatabaseError: created concurrently by another `hub infra up`.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    finally:
        await conn.close()


async def ensure_service_role(
    admin_dsn: str,
    service: str,
    *,
    database: str = DATABASE,
    settings: InfraSettings | None = None,
) -> str:
    """Make sure ``service`` has its LOGIN role and schema; returns the service's DSN.

    Idempotent: rerunning reapplies the stored password, the role attributes and settings,
    the schema ownership and the search_path (it does not hunt for grants someone added by
    hand, except in an owned schema, whose grants it rewrites whole). For a service with an
    owned schema it also applies that service's migrations, as the owner.
    """
    _check_identifier(service)
    secrets_file = (settings or InfraSettings()).root / "secrets" / "db-roles.json"
    conn = await asyncpg.connect(with_database(admin_dsn, database))
    try:
        async with conn.transaction():
            # Serialise concurrent `up`s: role DDL and the secrets file are read-modify-write.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _PROVISION_LOCK)
            password = _password(secrets_file, service)
            await _apply_role(conn, service, password, database)
            if service in OWNED_SCHEMAS:
                # One transaction: the service never sees the schema half-converted.
                await migrate_as_owner(conn, service)
                await grant_service_rights(conn, service)
    finally:
        await conn.close()
    return with_database(admin_dsn, database, user=service, password=password)


async def _apply_role(conn: asyncpg.Connection, role: str, password: str, database: str) -> None:
    """Role, password, timeouts, schema, search_path and grants, in the caller's
    transaction."""
    if await conn.fetchval("SELECT current_setting('is_superuser') = 'on'"):
        # Keep the password out of the server log even if a statement below fails.
        await conn.execute("SET LOCAL log_statement = 'none'")
        await conn.execute("SET LOCAL log_min_error_statement = 'panic'")
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
        await conn.execute(f'CREATE ROLE "{role}"')
    options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
    await conn.execute(f"ALTER ROLE \"{role}\" WITH {options} PASSWORD '{password}'")
    await conn.execute(f"ALTER ROLE \"{role}\" SET statement_timeout = '{STATEMENT_TIMEOUT}'")
    await conn.execute(
        f'ALTER ROLE "{role}" SET idle_in_transaction_session_timeout = '
        f"'{IDLE_IN_TRANSACTION_TIMEOUT}'"
    )
    owner = await ensure_owner(conn, role) if role in OWNED_SCHEMAS else role
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{role}" AUTHORIZATION "{owner}"')
    await conn.execute(f'ALTER SCHEMA "{role}" OWNER TO "{owner}"')
    await conn.execute(f'REVOKE ALL ON SCHEMA "{role}" FROM PUBLIC')
    await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}"')
    await conn.execute(f'ALTER ROLE "{role}" SET search_path = "{role}"')


def _password(path: Path, service: str) -> str:
    """The stored password of ``service``, generated and persisted (0600) on first use."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    if service not in stored:
        stored[service] = secrets.token_urlsafe(24)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        write_private(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
    if not _PASSWORD.fullmatch(stored[service]):  # it is spliced into ALTER ROLE and a URL
        raise InfraError(f"stored password of {service} in {path} has unexpected characters")
    return stored[service]


def _check_identifier(name: str) -> None:
    """Names are spliced into DDL, so only plain lower-case identifiers are accepted."""
    if not _IDENTIFIER.fullmatch(name):
        raise InfraError(f"not a valid role/schema/database name: {name!r}")
