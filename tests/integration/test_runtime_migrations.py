"""Schema migrations on real PostgreSQL: each file applied once, in order, recorded with its
checksum; edited history refused; a broken file leaves nothing behind."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.runtime.migrations import RUNTIME_MIGRATIONS, MigrationError
from tests.integration.runtime_fixtures import Schema, fresh_schema, migrate

pytestmark = pytest.mark.integration

SERVICE = "svc"
RUNTIME_FILES = sorted(RUNTIME_MIGRATIONS.glob("*.sql"))
RUNTIME_VERSIONS = [f"runtime/{f.stem}" for f in RUNTIME_FILES]


@pytest.fixture
async def schema(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    async with fresh_schema(stack_env) as created:
        yield created


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A service's migrations: a table, then a row in it (data that must not be doubled)."""
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (name text PRIMARY KEY);\n")
    (tmp_path / "0002_seed.sql").write_text("INSERT INTO things (name) VALUES ('seed');\n")
    return tmp_path


async def tables(schema: Schema) -> set[str]:
    rows = await schema.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema.name
    )
    return {r["table_name"] for r in rows}


async def recorded(schema: Schema) -> dict[str, str]:
    rows = await schema.fetch("SELECT version, checksum FROM schema_migrations")
    return {r["version"]: r["checksum"] for r in rows}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_text(encoding="utf-8").encode()).hexdigest()


async def test_runtime_then_service_files_are_applied_once(schema: Schema, folder: Path) -> None:
    first = await migrate(schema, SERVICE, folder)
    second = await migrate(schema, SERVICE, folder)

    assert first == [*RUNTIME_VERSIONS, f"{SERVICE}/0001_things", f"{SERVICE}/0002_seed"]
    assert second == []
    assert {"inbox", "outbox", "dead_letters", "things"} <= await tables(schema)
    # A restart must not re-run data migrations.
    assert await schema.fetchval("SELECT count(*) FROM things") == 1


async def test_each_applied_file_is_recorded_with_its_checksum(
    schema: Schema, folder: Path
) -> None:
    await migrate(schema, SERVICE, folder)

    assert await recorded(schema) == {
        **{f"runtime/{f.stem}": sha256(f) for f in RUNTIME_FILES},
        f"{SERVICE}/0001_things": sha256(folder / "0001_things.sql"),
        f"{SERVICE}/0002_seed": sha256(folder / "0002_seed.sql"),
    }


async def test_an_applied_file_that_was_edited_is_refused(schema: Schema, folder: Path) -> None:
    await migrate(schema, SERVICE, folder)
    before = await recorded(schema)
    (folder / "0002_seed.sql").write_text("INSERT INTO things (name) VALUES ('rewritten');\n")
    (folder / "0003_later.sql").write_text("CREATE TABLE later (id int);\n")

    with pytest.raises(MigrationError, match=f"{SERVICE}/0002_seed"):
        await migrate(schema, SERVICE, folder)

    # History is not rewritten, and nothing after the edited file runs either.
    assert await recorded(schema) == before
    assert [r["name"] for r in await schema.fetch("SELECT name FROM things")] == ["seed"]
    assert "later" not in await tables(schema)


async def test_a_failing_file_leaves_nothing_half_applied(schema: Schema, folder: Path) -> None:
    broken = folder / "0003_broken.sql"
    broken.write_text(
        "CREATE TABLE half (id int);\n"
        "INSERT INTO things (name) VALUES ('half-done');\n"
        "SELECT 1 / 0;\n"
    )

    with pytest.raises((MigrationError, asyncpg.PostgresError)):
        await migrate(schema, SERVICE, folder)

    assert f"{SERVICE}/0003_broken" not in await recorded(schema)
    assert "half" not in await tables(schema)
    assert [r["name"] for r in await schema.fetch("SELECT name FROM things")] == ["seed"]

    # Once the file is fixed, the next start applies exactly that file.
    broken.write_text("CREATE TABLE half (id int);\n")
    assert await migrate(schema, SERVICE, folder) == [f"{SERVICE}/0003_broken"]
    assert "half" in await tables(schema)


async def test_instances_starting_together_apply_each_file_once(
    schema: Schema, folder: Path
) -> None:
    applied = await asyncio.gather(*(migrate(schema, SERVICE, folder) for _ in range(4)))

    assert sorted(v for versions in applied for v in versions) == sorted(
        [*RUNTIME_VERSIONS, f"{SERVICE}/0001_things", f"{SERVICE}/0002_seed"]
    )
    assert await schema.fetchval("SELECT count(*) FROM things") == 1
