"""What an operator sees on a service's ops port while it works: alive and ready, an outbox
backlog that builds while the relay cannot publish and drains when it can, consumer lag that
builds while the handler is blocked and drains when it is not, and dead letters counted."""

import re
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE

from tests.e2e.conftest import Spawn
from tests.e2e.helpers import hold_relay_lease, release_relay_lease
from tests.e2e.lifecycle_support import free_port
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import send
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


class Ops:
    def __init__(self, port: int) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)

    async def metrics(self) -> str:
        response = await self.client.get("/metrics")
        response.raise_for_status()
        return response.text

    async def until(
        self, name: str, holds: Callable[[float], bool], what: str, **labels: str
    ) -> None:
        async def check() -> bool:
            return holds(metric(await self.metrics(), name, **labels))

        await eventually(check, what, timeout_s=120)


async def _send_many(bootstrap: str, count: int) -> None:
    for _ in range(count):
        message = submitted()
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])


async def test_intake_shows_backlog_lag_and_dead_letters_moving(
    bootstrap: str, spawn: Spawn, stack_env: dict[str, str]
) -> None:
    port = free_port()
    holder = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    ops = Ops(port)
    try:
        await hold_relay_lease(holder, "intake")  # intake commits but cannot publish
        spawn("intake", "ops-intake", INTAKE_OPS_PORT=str(port)).wait_for_log('"ops_listening"')
        assert (await ops.client.get("/healthz")).json()["status"] == "alive"

        async def ready() -> bool:
            return (await ops.client.get("/readyz")).status_code == 200

        await eventually(ready, "intake ready")

        await _send_many(bootstrap, 20)
        await ops.until("hub_outbox_backlog", lambda v: v >= 20, "backlog", service="intake")
        text = await ops.metrics()
        assert metric(text, "hub_outbox_oldest_age_seconds", service="intake") > 0
        assert metric(text, "hub_relay_leader", service="intake") == 0
        await release_relay_lease(holder)
        await ops.until("hub_outbox_backlog", lambda v: v == 0, "backlog drained", service="intake")
        await ops.until(
            "hub_relay_published_total", lambda v: v >= 20, "published", service="intake"
        )

        lock = holder.transaction()  # the handler waits on this lock: records pile up
        await lock.start()
        await holder.execute("LOCK TABLE intelligence IN ACCESS EXCLUSIVE MODE")
        await _send_many(bootstrap, 30)
        await ops.until("hub_consumer_lag", lambda v: v >= 10, "lag builds", group="intake")
        await lock.rollback()
        await ops.until("hub_consumer_lag", lambda v: v == 0, "lag drains", group="intake")
        await ops.until("hub_messages_total", lambda v: v >= 50, "all handled", outcome="handled")

        await send(bootstrap, POLICE_INTELLIGENCE, "cumbria:junk", [b"not json at all"])
        await ops.until("hub_dead_letters_total", lambda v: v >= 1, "dead letter counted")
        text = await ops.metrics()
        assert metric(text, "hub_handler_seconds_count", type="IntelligenceSubmitted") >= 50
        await eventually(ready, "intake ready again")
    finally:
        await release_relay_lease(holder)
        await holder.close()
        await ops.client.aclose()


async def test_every_consuming_service_answers_health_and_readiness(
    spawn: Spawn, stack_env: dict[str, str]
) -> None:
    ports = {name: free_port() for name in ("routing", "feedback")}
    for name, port in ports.items():
        spawn(name, f"ops-{name}", **{f"{name.upper()}_OPS_PORT": str(port)})
    for name, port in ports.items():
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def ready(client: httpx.AsyncClient = client) -> dict[str, object] | None:
                response = await client.get("/readyz")
                return response.json() if response.status_code == 200 else None

            body = await eventually(ready, f"{name} ready")
            assert body["checks"] == {
                "database": "ok",
                "kafka": "ok",
                "consuming": "ok",
                "relay": "ok",
            }
            assert (await client.get("/healthz")).status_code == 200
            assert "hub_consumer_lag" in (await client.get("/metrics")).text
