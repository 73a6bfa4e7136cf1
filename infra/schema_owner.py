"""Schemas their service may use but not alter: audit's ledger binds its own writer.

A role that owns a table can disable its triggers, grant itself back what was revoked, and
then rewrite history. So audit's schema and everything in it belong to ``audit_owner``, a
role nobody logs in as; the ``audit`` role the service logs in with gets only:

- SELECT and INSERT on the append-only tables (the ledger, its copies, the checkpoints);
- SELECT, INSERT, UPDATE and DELETE on its other tables (the runtime's inbox, outbox, ...);
- SELECT on ``schema_migrations``, USAGE on the sequences.

Its migrations cannot run in the service then: provisioning (``hub infra up``,
``python -m infra.provision``) applies them as the owner, in the transaction that sets the
rights, and the service at start only checks that nothing is pending. A schema from before
this (the service role owning it) is handed over to the owner on the next provisioning.
"""

import importlib.util
from pathlib import Path

import asyncpg

from infra import InfraError
from services.runtime.migrations import MigrationError, migrate_service

# service -> its append-only tables (only SELECT and INSERT for the service's role)
OWNED_SCHEMAS: dict[str, tuple[str, ...]] = {
    "audit": ("ledger", "ledger_copies", "checkpoints"),
}
MIGRATIONS_TABLE = "schema_migrations"


def owner_role(service: str) -> str:
    """The NOLOGIN role owning the schema of ``service``."""
    return f"{service}_owner"


def migrations_folder(service: str) -> Path:
    """``services/<service>/migrations``, wherever the package is installed."""
    spec = importlib.util.find_spec(f"services.{service}")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError(f"the package services.{service} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


async def ensure_owner(conn: asyncpg.Connection, service: str) -> str:
    """The owner role exists, cannot log in, and owns what ``service``'s role owned before
    (a schema from before owners); returns the owner's name. In the caller's transaction."""
    owner = owner_role(service)
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", owner):
        await conn.execute(f'CREATE ROLE "{owner}"')
    options = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
    await conn.execute(f'ALTER ROLE "{owner}" WITH {options} PASSWORD NULL')
    owns_something = await conn.fetchval(
        """SELECT EXISTS (
               SELECT 1 FROM pg_shdepend d JOIN pg_database db ON db.oid = d.dbid
                WHERE db.datname = current_database() AND d.deptype = 'o'
                  AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1))""",
        service,
    )
    if owns_something:
        await conn.execute(f'REASSIGN OWNED BY "{service}" TO "{owner}"')
    return owner


async def migrate_as_owner(conn: asyncpg.Connection, service: str) -> list[str]:
    """Apply the service's migrations (the runtime's, then its own) as the schema's owner,
    inside the caller's transaction; returns the versions applied now."""
    await conn.execute(f'SET LOCAL ROLE "{owner_role(service)}"')
    await conn.execute(f'SET LOCAL search_path = "{service}"')
    try:
        applied = await migrate_service(conn, service, migrations_folder(service))
    except MigrationError as err:
        raise InfraError(f"{service}'s migrations: {err}") from err
    await conn.execute("RESET ROLE")  # on failure the rollback ends both SET LOCALs
    await conn.execute("RESET search_path")
    return applied


async def grant_service_rights(conn: asyncpg.Connection, service: str) -> None:
    """Rewrite what ``service``'s role may do in its owned schema (see the module doc); every
    earlier grant is revoked first, so a hand-made GRANT does not survive provisioning."""
    append_only = set(OWNED_SCHEMAS[service])
    schema, role = f'"{service}"', f'"{service}"'
    await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
    await conn.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}")
    tables = await conn.fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')""",
        service,
    )
    for table in (row["relname"] for row in tables):
        if table == MIGRATIONS_TABLE:
            rights = "SELECT"
        elif table in append_only:
            rights = "SELECT, INSERT"
        else:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        await conn.execute(f'GRANT {rights} ON {schema}."{table}" TO {role}')
    await conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
