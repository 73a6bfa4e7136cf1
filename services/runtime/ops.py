"""The operator's endpoints of a service process, on its own port (``<SERVICE>_OPS_PORT``).

- ``/healthz``: the process answers (alive). A hung process does not, so a supervisor that
  restarts on failed liveness replaces it.
- ``/readyz``: 200 when it can do its work: PostgreSQL answers, Kafka answers, every
  consumer is running, and the outbox relay is not stuck (it made progress lately, and the
  oldest row waiting in the outbox is younger than ``<SERVICE>_OPS_STUCK_OUTBOX_S``); 503
  with the failing checks otherwise.
- ``/metrics``: Prometheus text (services/runtime/metrics.py).

Nothing here is served unless the port is set; docs/runtime.md tells what each part means.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.runtime.metrics import ConsumerSource, refresh_lag, refresh_outbox
from services.runtime.relay import OutboxRelay

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class OpsTargets:
    """What the endpoints look at: the parts of one running service process."""

    service: str
    pool: "asyncpg.Pool[Any]"
    producer: AIOKafkaProducer
    relay: OutboxRelay
    consumers: Sequence[tuple[str, ConsumerSource]]
    """(consumer group, the consumer) of every Kafka consumer the process runs"""
    stuck_outbox_s: float
    relay_stalled_s: float
    """How long the relay may go without progress before it counts as stuck."""


async def _check(probe: Callable[[], Awaitable[str | None]]) -> str:
    """'ok', or why not (a probe returns a reason, or raises)."""
    try:
        problem = await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return "no answer in time"
    except Exception as exc:
        return type(exc).__name__
    return problem or "ok"


def _probes(targets: OpsTargets) -> dict[str, Callable[[], Awaitable[str | None]]]:
    async def database() -> str | None:
        async with targets.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return None

    async def kafka() -> str | None:
        await targets.producer.client.fetch_all_metadata()
        return None

    async def consuming() -> str | None:
        stopped = [group for group, source in targets.consumers if source() is None]
        return f"not consuming: {', '.join(stopped)}" if stopped else None

    async def relay() -> str | None:
        quiet_s = time.monotonic() - targets.relay.last_progress
        if quiet_s > targets.relay_stalled_s:
            return f"no progress for {quiet_s:.0f} s"
        async with targets.pool.acquire() as conn:
            _, oldest = await refresh_outbox(targets.service, conn)
        if oldest > targets.stuck_outbox_s:
            return f"oldest outbox row waits {oldest:.0f} s"
        return None

    return {"database": database, "kafka": kafka, "consuming": consuming, "relay": relay}


def ops_app(targets: OpsTargets) -> Starlette:
    probes = _probes(targets)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive", "service": targets.service})

    async def readyz(_: Request) -> Response:
        names = list(probes)
        results = await asyncio.gather(*[_check(probes[name]) for name in names])
        checks = dict(zip(names, results, strict=True))
        ready = all(result == "ok" for result in checks.values())
        body = {"ready": ready, "service": targets.service, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        # Gauges of state kept elsewhere are read now; a failing read keeps the last value.
        async def outbox() -> str | None:
            async with targets.pool.acquire() as conn:
                await refresh_outbox(targets.service, conn)
            return None

        async def lag() -> str | None:
            await refresh_lag(targets.consumers)
            return None

        await asyncio.gather(_check(outbox), _check(lag))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
