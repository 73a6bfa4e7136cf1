"""An HTTP API inside a service process: uvicorn as a ServiceSpec background task.

FastStream owns SIGTERM/SIGINT: uvicorn's own signal capture is switched off, so a signal
stops FastStream, which cancels this task, which lets uvicorn finish in-flight requests and
close its socket before the pool closes.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import asyncpg
import uvicorn

from services.runtime.logs import get_logger

if TYPE_CHECKING:  # app.py serves the ops endpoints with serve() below
    from services.runtime.app import BackgroundTask

log = get_logger()
_GRACE_S = 10

AppFactory = Callable[["asyncpg.Pool[Any]"], Any]
"""Builds the ASGI app once the service's pool exists."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_task(create_app: AppFactory, host: str, port: int) -> "BackgroundTask":
    """Serve ``create_app(pool)`` on host:port; logs ``http_listening`` once bound."""

    async def serve_app(pool: "asyncpg.Pool[Any]") -> None:
        await serve(create_app(pool), host, port)

    return serve_app


async def serve(
    app: Any, host: str, port: int, *, what: str = "http", required: bool = True
) -> None:
    """Serve an ASGI app until cancelled. A port that cannot be bound stops the service if
    the app is ``required`` (its API); otherwise it is logged and the service goes on."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,  # paths carry referral ids; the audit trail is the events
        log_config=None,
        timeout_graceful_shutdown=_GRACE_S,
    )
    server = _Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            log.info(f"{what}_listening", host=host, port=port)
        await asyncio.shield(serving)
    except SystemExit:
        # uvicorn exits when it cannot bind: the service is useless without its API, but
        # not without its metrics.
        log.error(f"{what}_failed_to_start", host=host, port=port)
        if required:
            raise
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
