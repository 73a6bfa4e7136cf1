"""The casework API against real PostgreSQL, without Kafka: a throw-away schema migrated with
casework's migrations, the app over ASGITransport, and referral state seeded the way
production gets it, by feeding events through the consumer shell and casework's handler.

Test modules import the fixtures from here explicitly."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from referral_schemas import Envelope, RiskLevel, serialize_event
from referral_schemas.topics import REFERRAL_EVENTS

from services.casework.api.app import create_app
from services.casework.handlers import handle
from services.casework.personal import DetailsOpener
from services.casework.store import PgCaseworkStore
from services.runtime.auth import AUDIENCE, LOCAL_ISSUER, TokenVerifier, ensure_signing_keys
from services.runtime.auth import mint_token as sign
from services.runtime.consumer import MessageProcessor, Outcome, RetryPolicy, consumer_name
from services.runtime.db import create_pool
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.migrations import migrate_service
from tests.support.clock import FixedClock
from tests.support.sealing import READER, find_key
from tests.unit.test_casework_helpers import AGENCY, NOW, opened, routed

MIGRATIONS = Path(__file__).parents[2] / "services" / "casework" / "migrations"
CONSUMER = consumer_name("casework", REFERRAL_EVENTS)
"""The name the runtime gives casework's consumer of referral.events (service/topic)."""


@pytest.fixture(scope="session")
async def casework_pool(stack_env: dict[str, str]) -> AsyncIterator["asyncpg.Pool[Any]"]:
    parts = urlsplit(stack_env["HUB_ADMIN_DATABASE_URL"])
    admin_dsn = urlunsplit(parts._replace(path="/referral_hub", query=""))
    schema = f"cwt_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    pool = await create_pool(f"{admin_dsn}?search_path={schema}", min_size=1, max_size=6)
    try:
        async with pool.acquire() as conn:
            await migrate_service(conn, "casework", MIGRATIONS)
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    private_path, public_path = ensure_signing_keys(tmp_path_factory.mktemp("casework-keys"))
    return private_path.read_text(), public_path.read_text()


@dataclass
class Casework:
    """One test's handle on the API, its database and its clock."""

    pool: "asyncpg.Pool[Any]"
    client: httpx.AsyncClient
    clock: FixedClock
    private_key: str
    offset: int = field(default=0)
    echoed: set[str] = field(default_factory=set)

    def headers(
        self,
        role: str = "support_worker",
        *,
        user: str = "worker-1",
        agency: str | None = AGENCY,
        force: str | None = None,
        key: str | None = None,
    ) -> dict[str, str]:
        token = sign(
            self.private_key,
            user=user,
            role=role,
            agency=agency,
            force=force,
            now=datetime.now(UTC),  # tokens expire in real time, whatever the test clock says
            lifetime=timedelta(hours=1),
        )
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def feed(self, *envelopes: Envelope[Any]) -> None:
        """Through the real consumer shell (parse, inbox claim, handler, one transaction)."""
        for envelope in envelopes:
            outcome = await self.deliver(envelope.subject, serialize_event(envelope))
            assert outcome is Outcome.HANDLED

    async def echo(self, referral_id: uuid.UUID) -> list[str]:
        """casework's own events for the referral, from its outbox, read back as the log
        would deliver them (each once, in the order written); their types."""
        types = []
        for message in await self.outbox(referral_id):
            if message["id"] in self.echoed:
                continue
            self.echoed.add(message["id"])
            assert await self.deliver(message["key"], message["raw"]) is Outcome.HANDLED
            types.append(message["type"])
        return types

    async def deliver(self, key: str, value: bytes) -> Outcome:
        """One record as casework's consumer would receive it from referral.events."""
        processor = MessageProcessor(
            self.pool, CONSUMER, handle, self.clock, RetryPolicy(1), trust=None
        )
        self.offset += 1
        record = ReceivedRecord(REFERRAL_EVENTS, 0, self.offset, key.encode(), value, ())
        return await processor.process(record)

    async def routed_referral(
        self,
        *,
        agency: str = AGENCY,
        risk: RiskLevel = RiskLevel.HIGH,
        due_in: timedelta = timedelta(hours=48),
        area: str = "barrow",
    ) -> uuid.UUID:
        rid = uuid.uuid4()
        await self.feed(
            opened(rid, risk=risk), routed(rid, agency=agency, area=area, due_by=NOW + due_in)
        )
        return rid

    async def act(
        self,
        rid: uuid.UUID,
        action: str,
        body: Any = None,
        *,
        method: str = "POST",
        role: str = "support_worker",
        key: str | None = None,
        **claims: Any,
    ) -> httpx.Response:
        """A staff action on the referral, with a fresh Idempotency-Key unless one is given."""
        headers = self.headers(role, key=key or str(uuid.uuid4()), **claims)
        return await self.client.request(
            method, f"/referrals/{rid}/{action}", json=body, headers=headers
        )

    async def accepted_referral(self) -> uuid.UUID:
        rid = await self.routed_referral()
        assert (await self.act(rid, "accept")).status_code == 200
        return rid

    async def outbox(self, referral_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
        found = [
            {
                "topic": r["topic"],
                "key": r["key"].decode(),
                "raw": r["value"],
                **json.loads(r["value"]),
            }
            for r in rows
        ]
        if referral_id is None:
            return found
        return [m for m in found if m["key"] == str(referral_id)]

    async def stored_state(self, referral_id: uuid.UUID) -> Any:
        """The log's fold alone, as stored (what an audit replay rebuilds)."""
        return await self.pool.fetchval(
            "SELECT state FROM referrals WHERE referral_id = $1", referral_id
        )

    async def shown_state(self, referral_id: uuid.UUID) -> Any:
        """The log's fold with casework's own pending decisions laid over it."""
        async with self.pool.acquire() as conn:
            stored = await PgCaseworkStore(conn).load(referral_id, lock=False)
        assert stored is not None
        return stored.shown.model_dump(mode="json")

    async def pending(self, referral_id: uuid.UUID) -> list[str]:
        """Types of casework's decisions not yet read back from the log."""
        rows = await self.pool.fetchval(
            "SELECT pending FROM referrals WHERE referral_id = $1", referral_id
        )
        return [p["type"] for p in rows]

    async def timeline(self, referral_id: uuid.UUID) -> list[tuple[str, str | None]]:
        """(type, no-effect code) of each event folded, in log order."""
        rows = await self.pool.fetch(
            "SELECT type, no_effect FROM timeline WHERE referral_id = $1 ORDER BY seq",
            referral_id,
        )
        return [(r["type"], r["no_effect"]) for r in rows]

    async def snapshot(self, referral_id: uuid.UUID) -> tuple[Any, Any, list[dict[str, Any]], int]:
        """Everything an action could change: state, pending decisions, outbox, stored
        idempotent answers."""
        answers = await self.pool.fetchval("SELECT count(*) FROM idempotency")
        pending = await self.pool.fetchval(
            "SELECT pending FROM referrals WHERE referral_id = $1", referral_id
        )
        return await self.stored_state(referral_id), pending, await self.outbox(), answers


@pytest.fixture
async def casework(
    casework_pool: "asyncpg.Pool[Any]", signing_keys: tuple[str, str]
) -> AsyncIterator[Casework]:
    await casework_pool.execute("DELETE FROM outbox")
    clock = FixedClock(NOW + timedelta(hours=1))
    verifier = TokenVerifier(signing_keys[1], LOCAL_ISSUER, AUDIENCE)
    app = create_app(casework_pool, verifier, clock, DetailsOpener(READER, find_key))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://casework") as client:
        yield Casework(casework_pool, client, clock, signing_keys[0])
