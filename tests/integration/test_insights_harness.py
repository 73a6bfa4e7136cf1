"""The insights API against real PostgreSQL, without Kafka: a throw-away schema per test,
migrated with insights' migrations, the app over ASGITransport, and the read model seeded the
way production builds it, by feeding records through the consumer shell and insights'
handlers. Test modules import the fixtures from here explicitly."""

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from referral_schemas.topics import DIRECTORY, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.insights.api.app import create_app
from services.insights.handlers import on_directory, on_intelligence, on_referral_event
from services.runtime.auth import AUDIENCE, LOCAL_ISSUER, TokenVerifier, ensure_signing_keys
from services.runtime.auth import mint_token as sign
from services.runtime.consumer import Handler, MessageProcessor, Outcome, RetryPolicy
from services.runtime.db import create_pool
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.migrations import migrate_service
from tests.support.clock import FixedClock
from tests.support.insights_events import Message, at

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parents[2] / "services" / "insights" / "migrations"
HANDLERS: dict[str, Handler] = {
    DIRECTORY: on_directory,
    POLICE_INTELLIGENCE: on_intelligence,
    REFERRAL_EVENTS: on_referral_event,
}


CLOCK_AT = at("2024-03-10 12:00")


@pytest.fixture(scope="session")
def insights_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    private_path, public_path = ensure_signing_keys(tmp_path_factory.mktemp("insights-keys"))
    return private_path.read_text(), public_path.read_text()


@dataclass
class Insights:
    """One test's handle on the API and the read model behind it."""

    pool: "asyncpg.Pool[Any]"
    client: httpx.AsyncClient
    clock: FixedClock
    private_key: str
    offsets: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str = "auditor", **claims: Any) -> dict[str, str]:
        """An auditor's token unless told otherwise: the figures' definitions are tested
        on exact counts (who sees what, and small numbers: tests/security)."""
        token = sign(
            self.private_key,
            user=claims.pop("user", "manager-1"),
            role=role,
            agency=claims.pop("agency", None),
            force=claims.pop("force", None),
            now=datetime.now(UTC),  # tokens expire in real time, whatever the test clock says
            lifetime=timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}"}

    async def deliver(self, message: Message) -> Outcome:
        """One record as insights' consumer of that topic would receive it."""
        offset = self.offsets.get(message.topic, 0)
        self.offsets[message.topic] = offset + 1
        processor = MessageProcessor(
            self.pool,
            f"insights/{message.topic}",
            HANDLERS[message.topic],
            self.clock,
            RetryPolicy(1),
            trust=None,
        )
        record = ReceivedRecord(message.topic, 0, offset, message.key.encode(), message.value, ())
        return await processor.process(record)

    async def feed(self, messages: Iterable[Message]) -> None:
        for message in messages:
            assert await self.deliver(message) is Outcome.HANDLED

    async def get(self, path: str, role: str = "auditor", **params: Any) -> Any:
        response = await self.client.get(path, params=params, headers=self.headers(role))
        assert response.status_code == 200, response.text
        return response.json()

    async def figures(self, first: str, last: str, **params: Any) -> dict[tuple[Any, str], Any]:
        """The rows of GET /figures by (area, month)."""
        page = await self.get("/figures", **{"from": first, "to": last, **params})
        return {(row["area"], row["month"]): row for row in page["rows"]}


@pytest.fixture
async def insights(
    stack_env: dict[str, str], insights_keys: tuple[str, str]
) -> AsyncIterator[Insights]:
    parts = urlsplit(stack_env["HUB_ADMIN_DATABASE_URL"])
    admin_dsn = urlunsplit(parts._replace(path="/referral_hub", query=""))
    schema = f"ins_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    pool = await create_pool(f"{admin_dsn}?search_path={schema}", min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate_service(conn, "insights", MIGRATIONS)
        clock = FixedClock(CLOCK_AT)
        app = create_app(pool, TokenVerifier(insights_keys[1], LOCAL_ISSUER, AUDIENCE), clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://insights") as client:
            yield Insights(pool, client, clock, insights_keys[0])
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


async def test_the_harness_serves_empty_figures_for_a_fresh_read_model(
    insights: Insights,
) -> None:
    page = await insights.get("/figures", **{"from": "2024-01", "to": "2024-02"})
    assert page["rows"] == []  # no directory yet: no areas to list
