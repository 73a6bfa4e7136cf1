"""The ops endpoints' verdicts, with fakes for the parts they look at: alive is alive; ready
only when every check passes, and otherwise a 503 that names what failed."""

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest

from services.runtime.ops import OpsTargets, ops_app

pytestmark = pytest.mark.unit


class FakeConnection:
    def __init__(self, up: bool, oldest_s: float) -> None:
        self.up = up
        self.oldest_s = oldest_s

    async def fetchval(self, sql: str) -> int:
        if not self.up:
            raise OSError("connection refused")
        return 1

    async def fetchrow(self, sql: str) -> dict[str, Any]:
        if not self.up:
            raise OSError("connection refused")
        return {"backlog": 3, "oldest": self.oldest_s, "parked": 0}


class FakePool:
    def __init__(self, up: bool = True, oldest_s: float = 0.0) -> None:
        self.conn = FakeConnection(up, oldest_s)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.conn


class FakeClient:
    async def fetch_all_metadata(self) -> None:
        return None


class FakeProducer:
    client = FakeClient()


class FakeRelay:
    def __init__(self, quiet_s: float = 0.0) -> None:
        self.last_progress = time.monotonic() - quiet_s


def _client(
    pool: FakePool | None = None, relay: FakeRelay | None = None, consuming: bool = True
) -> httpx.AsyncClient:
    targets = OpsTargets(
        "intake",
        cast(Any, pool or FakePool()),
        cast(Any, FakeProducer()),
        cast(Any, relay or FakeRelay()),
        [("intake", lambda: cast(Any, object()) if consuming else None)],
        stuck_outbox_s=60,
        relay_stalled_s=15,
    )
    transport = httpx.ASGITransport(app=ops_app(targets))
    return httpx.AsyncClient(transport=transport, base_url="http://ops")


async def test_a_healthy_service_is_alive_and_ready_and_shows_its_backlog() -> None:
    async with _client() as client:
        alive = (await client.get("/healthz")).json()
        ready = await client.get("/readyz")
        metrics = (await client.get("/metrics")).text

    assert alive == {"status": "alive", "service": "intake"}
    assert ready.status_code == 200
    assert set(ready.json()["checks"].values()) == {"ok"}
    assert 'hub_outbox_backlog{service="intake"} 3.0' in metrics


@pytest.mark.parametrize(
    ("client", "failing"),
    [
        (lambda: _client(pool=FakePool(up=False)), {"database", "relay"}),
        (lambda: _client(consuming=False), {"consuming"}),
        (lambda: _client(relay=FakeRelay(quiet_s=60)), {"relay"}),
        (lambda: _client(pool=FakePool(oldest_s=600)), {"relay"}),
    ],
    ids=["database down", "consumer stopped", "relay without progress", "outbox stuck"],
)
async def test_a_service_that_cannot_work_is_not_ready_and_says_why(
    client: Any, failing: set[str]
) -> None:
    async with client() as ops:
        response = await ops.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert {name for name, result in checks.items() if result != "ok"} == failing
