"""The replay's scratch schema: an empty schema the rebuilt state is written into, with the
owning services' own migrations and store functions, and SQL-side digests of the live and
the rebuilt tables.

Like ``replay``/``replay_run``, this module is used by the ``hub`` CLI only (which may import
services); the audit service never imports it.

``scratch_schema`` creates ``replay_<yyyymmddhhmmss>_<6 hex>`` with the admin DSN, checks it
is empty, and drops it at the end unless asked to keep it. Casework's migrations create its
``referrals`` table there and casework's ``store.save`` writes each rebuilt state; audit's
migrations create ``ledger`` there and ``audit.insert_entry`` writes each rebuilt entry.
The digests are computed by Postgres over the stored rows (jsonb's canonical text for a
referral's state; a row of every hashed ledger column), identically on both sides.
"""

import contextlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.audit import replay_interface as audit
from services.casework import replay_interface as casework
from services.runtime.db import Connection, connect
from services.runtime.migrations import migrate_service

DATABASE = "referral_hub"
PREFIX = "replay_"
CASEWORK_MIGRATIONS = casework.MIGRATIONS
AUDIT_MIGRATIONS = audit.MIGRATIONS


class ScratchNotEmpty(RuntimeError):
    """The schema created for the replay already holds something."""


@dataclass(frozen=True)
class Scratch:
    name: str
    dsn: str
    """The admin DSN with ``search_path`` set to the scratch schema."""

    async def connect(self) -> asyncpg.Connection:
        return await connect(self.dsn)


Observer = Callable[[str, Scratch], Awaitable[None]]
"""Called with ("created", scratch) when the empty schema exists, and ("filled", scratch)
once the rebuilt state is written and before it is compared (tests look in between)."""


def project_admin_dsn(admin_url: str, database: str = DATABASE) -> str:
    """The superuser DSN (HUB_ADMIN_DATABASE_URL) pointed at the project's database."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{database}", query=""))


def scratch_name(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


async def tables_in(conn: Connection, schema: str) -> int:
    """Relations of any kind (tables, sequences, views, ...) in ``schema``."""
    found = await conn.fetchval(
        """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1""",
        schema,
    )
    return int(found)


@contextlib.asynccontextmanager
async def scratch_schema(
    admin_dsn: str, *, keep: bool = False, now: datetime | None = None
) -> AsyncIterator[Scratch]:
    """A new, empty schema; dropped with everything in it on exit unless ``keep``."""
    name = scratch_name(now or datetime.now(UTC))
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        try:
            if await tables_in(admin, name):
                raise ScratchNotEmpty(f"schema {name} is not empty")
            sep = "&" if "?" in admin_dsn else "?"
            yield Scratch(name, f"{admin_dsn}{sep}search_path={name}")
        finally:
            if not keep:
                await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await admin.close()


async def prepare(conn: Connection) -> None:
    """Casework's and audit's own migrations (the runtime's tables are shared, once)."""
    await migrate_service(conn, "casework", CASEWORK_MIGRATIONS)
    await migrate_service(conn, "audit", AUDIT_MIGRATIONS)


async def write_casework(conn: Connection, states: Iterable[casework.CaseState]) -> int:
    """Each rebuilt state, as casework itself saves it: the statements casework's
    ``store.save`` issues, with its arguments and in its order, sent as pipelined batches
    in one transaction instead of one round trip each."""
    batch = audit.StatementBatch()
    written = 0
    for state in states:
        await casework.save(batch.as_connection(), state)
        written += 1
    async with conn.transaction():
        await batch.run(conn)
    return written


async def write_ledger(conn: Connection, entries: Sequence[audit.LedgerEntry]) -> int:
    """The rebuilt entries with audit's ``store.copy_entries`` (one COPY). COPY sends
    values in binary form, so this connection's jsonb codec becomes the binary one."""
    await conn.set_type_codec(
        "jsonb",
        encoder=_jsonb_binary,
        decoder=_jsonb_unbinary,
        schema="pg_catalog",
        format="binary",
    )
    async with conn.transaction():
        await audit.copy_entries(conn, entries)
    return len(entries)


_JSONB_VERSION = b"\x01"


def _jsonb_binary(value: Any) -> bytes:
    """jsonb's binary form: a version byte, then the same JSON text the text codec sends."""
    return _JSONB_VERSION + json.dumps(value).encode()


def _jsonb_unbinary(data: bytes) -> Any:
    return json.loads(data[1:])


_STATE_DIGEST = "encode(sha256(convert_to(state::text, 'UTF8')), 'hex')"


async def casework_digests(
    conn: Connection, only: Sequence[uuid.UUID] | None = None
) -> tuple[dict[uuid.UUID, str], str]:
    """Per referral, sha256 of its state's canonical jsonb text; and overall, sha256 of the
    ``id:digest`` lines in id order. ``only`` narrows to those referrals."""
    where = "TRUE" if only is None else "referral_id = ANY($1::uuid[])"
    args = () if only is None else (list(only),)
    rows = await conn.fetch(
        f"SELECT referral_id, {_STATE_DIGEST} AS digest FROM referrals WHERE {where}", *args
    )
    overall = await conn.fetchval(
        f"""SELECT encode(sha256(convert_to(coalesce(string_agg(
                       referral_id::text || ':' || {_STATE_DIGEST} || E'\\n', ''
                       ORDER BY referral_id), ''), 'UTF8')), 'hex')
              FROM referrals WHERE {where}""",
        *args,
    )
    return {r["referral_id"]: r["digest"] for r in rows}, str(overall)


_LEDGER_COLUMNS = """position, identity, topic, partition, "offset", record_timestamp_ms,
    key_sha256, value_sha256, value_bytes, event_id, type, event_time AT TIME ZONE 'UTC',
    actor, agency, subject,
    correlation_id, referral_id, category, recipients, purpose, intelligence, parse_error,
    dead_letter, producer, provenance"""
CHAINS = {
    "overall": "prev_hash, hash",
    "referral": "referral_prev_hash, referral_hash",
    "none": "NULL::bytea",
}


async def ledger_digest(
    conn: Connection, chain: str, positions: Sequence[int] | None = None
) -> tuple[int, str]:
    """Entries counted and sha256 of every hashed column (and the ``chain``'s hashes) of
    each entry, in position order; ``positions`` narrows to those entries. Times are
    rendered in UTC, so the sessions' time zones do not matter."""
    where = "TRUE" if positions is None else "position = ANY($1::bigint[])"
    args = () if positions is None else (list(positions),)
    row = await conn.fetchrow(
        f"""SELECT count(*) AS n, encode(sha256(convert_to(coalesce(string_agg(
                       ROW({_LEDGER_COLUMNS}, {CHAINS[chain]})::text, E'\\n'
                       ORDER BY position), ''), 'UTF8')), 'hex') AS digest
              FROM ledger WHERE {where}""",
        *args,
    )
    assert row is not None
    return int(row["n"]), str(row["digest"])
