"""Forward-only SQL migrations, applied in order, once each, recorded with a checksum.

Every service applies the runtime's own tables (inbox, outbox, dead letters) and then its own
files, all inside its own schema. A changed file that was already applied is refused: history
is never rewritten, a fix is a new file.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.runtime.db import Connection

RUNTIME_MIGRATIONS = Path(__file__).with_name("migrations")

# Any constant works: it only serialises instances of one service migrating at once.
_MIGRATION_LOCK = 7_300_001


class MigrationError(RuntimeError):
    """An applied migration was edited afterwards, or a file failed to apply."""


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path, prefix: str) -> list[Migration]:
    files = sorted(folder.glob("*.sql"))
    return [Migration(f"{prefix}/{f.stem}", f.read_text(encoding="utf-8")) for f in files]


async def apply_migrations(conn: Connection, migrations: list[Migration]) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        # Checked first: a role that may only read its schema (audit's, whose migrations
        # provisioning applies as the schema's owner) cannot even CREATE ... IF NOT EXISTS.
        if not await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM pg_tables
                               WHERE schemaname = current_schema()
                                 AND tablename = 'schema_migrations')"""
        ):
            await conn.execute(
                """CREATE TABLE schema_migrations (
                       version text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {r["version"]: r["checksum"] for r in rows}
        done: list[str] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} changed after it was applied"
                    )
                continue
            try:
                async with conn.transaction():
                    await _apply_one(conn, migration)
            except asyncpg.PostgresError as err:
                hint = ""
                if isinstance(err, asyncpg.InsufficientPrivilegeError):
                    hint = " (if another role owns this schema, `hub infra up` applies it)"
                raise MigrationError(
                    f"migration {migration.version} failed: {type(err).__name__}: {err}{hint}"
                ) from err
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def _apply_one(conn: Connection, migration: Migration) -> None:
    await conn.execute(migration.sql)
    await conn.execute(
        "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
        migration.version,
        migration.checksum,
    )


async def migrate_service(conn: Connection, service: str, folder: Path) -> list[str]:
    """The runtime's tables first, then the service's own."""
    migrations = load_migrations(RUNTIME_MIGRATIONS, "runtime") + load_migrations(folder, service)
    return await apply_migrations(conn, migrations)
