"""The keyring's schema: the referrals' data keys, apart from the data they seal
(services.runtime.keyring, docs/privacy.md).

``keyring`` belongs to ``keyring_owner``, a role nobody logs in as, so no service can alter
its table or its grants. intake may add keys and destroy them (erasure); casework may only
read them; no other role may touch the schema. The keys in it are wrapped for casework's
X25519 key, which lives outside the database (``<state>/keys/personal/``).
"""

import asyncpg

PROVISION_LOCK = 0x52_48_55_42  # infra.database's pg_advisory_xact_lock key: "RHUB"
OWNER = "keyring_owner"
SCHEMA = "keyring"
WRITER = "intake"
READER = "casework"

_TABLE = f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.data_keys (
    key_id           uuid        PRIMARY KEY,
    referral_id      uuid        NOT NULL,
    ephemeral_public bytea       NOT NULL,
    nonce            bytea       NOT NULL,
    wrapped          bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
)"""


async def ensure_keyring(conn: asyncpg.Connection) -> None:
    """Owner, schema, table and grants; idempotent. Call after intake's and casework's roles
    exist, in the caller's transaction."""
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", OWNER):
        await conn.execute(f'CREATE ROLE "{OWNER}"')
    options = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
    await conn.execute(f'ALTER ROLE "{OWNER}" WITH {options} PASSWORD NULL')
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}" AUTHORIZATION "{OWNER}"')
    await conn.execute(f'ALTER SCHEMA "{SCHEMA}" OWNER TO "{OWNER}"')
    await conn.execute(f'REVOKE ALL ON SCHEMA "{SCHEMA}" FROM PUBLIC')
    await conn.execute(f'SET LOCAL ROLE "{OWNER}"')
    await conn.execute(_TABLE)
    await conn.execute(
        f"CREATE INDEX IF NOT EXISTS data_keys_referral ON {SCHEMA}.data_keys (referral_id)"
    )
    await conn.execute("RESET ROLE")
    await conn.execute(f"REVOKE ALL ON {SCHEMA}.data_keys FROM PUBLIC, {WRITER}, {READER}")
    await conn.execute(f'GRANT USAGE ON SCHEMA "{SCHEMA}" TO "{WRITER}", "{READER}"')
    await conn.execute(f"GRANT SELECT, INSERT, DELETE ON {SCHEMA}.data_keys TO {WRITER}")
    await conn.execute(f"GRANT SELECT ON {SCHEMA}.data_keys TO {READER}")


async def provision_keyring(admin_dsn: str, database: str) -> None:
    """``ensure_keyring`` in ``database``, serialised with the other provisioning."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PROVISION_LOCK)
            await ensure_keyring(conn)
    finally:
        await conn.close()
