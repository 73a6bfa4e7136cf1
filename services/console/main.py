"""Run the console: ``python -m services.console.main``. All wiring is here, none at import.

It refuses to start (a clear message, exit status 2) on settings that would let someone in
without a credential or over plain HTTP (``settings.unsafe_combinations``), or without the
database and secret its sessions need.
"""

import asyncio
import contextlib
import sys
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from pydantic import ValidationError

from services.console.app import create_app
from services.console.audit import AuditClient
from services.console.casework import CaseworkClient
from services.console.demo import DemoTokens
from services.console.figures import InsightsClient
from services.console.oidc import OidcClient
from services.console.session_store import PgSessionStore
from services.console.settings import ConsoleSettings
from services.console.web import ConsoleDeps
from services.runtime.clock import Clock, SystemClock
from services.runtime.db import create_pool
from services.runtime.logs import configure_logging, get_logger
from services.runtime.migrations import apply_migrations, load_migrations

log = get_logger()
MIGRATIONS = Path(__file__).with_name("migrations")
_PURGE_EVERY_S = 300.0


def _demo_tokens(settings: ConsoleSettings) -> DemoTokens | None:
    if not settings.demo_sign_in or settings.token_private_key_file is None:
        return None
    pem = settings.token_private_key_file.read_text(encoding="utf-8")
    return DemoTokens(pem, timedelta(seconds=settings.token_lifetime_s))


async def migrate(pool: "asyncpg.Pool[Any]") -> list[str]:
    """The console's own tables only: it consumes no topic, so no inbox or outbox."""
    async with pool.acquire() as conn:
        return await apply_migrations(conn, load_migrations(MIGRATIONS, "console"))


async def _purge_ended_sessions(store: PgSessionStore, clock: Clock, idle: timedelta) -> None:
    while True:
        try:
            purged = await store.purge(clock.now(), idle)
            if purged:
                log.info("sessions_purged", count=purged)
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("sessions_purge_failed", error=type(err).__name__)
        await asyncio.sleep(_PURGE_EVERY_S)


async def serve(settings: ConsoleSettings) -> None:
    assert settings.database_url is not None
    assert settings.session_secret is not None
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    async with AsyncExitStack() as stack:

        async def client(base_url: str = "") -> httpx.AsyncClient:
            return await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=timeout)
            )

        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1)
        stack.push_async_callback(pool.close)
        applied = await migrate(pool)
        if applied:
            log.info("migrations_applied", versions=applied)
        oidc = None
        if settings.oidc_enabled():
            assert settings.oidc_issuer
            assert settings.oidc_client_id
            assert settings.oidc_client_secret
            oidc = OidcClient(
                await client(),
                issuer=settings.oidc_issuer,
                client_id=settings.oidc_client_id,
                client_secret=settings.oidc_client_secret.get_secret_value(),
            )
        clock = SystemClock()
        sessions = PgSessionStore(pool)
        deps = ConsoleDeps(
            settings=settings,
            casework=CaseworkClient(await client(settings.casework_url)),
            insights=InsightsClient(await client(settings.insights_url)),
            audit=AuditClient(await client(settings.audit_url)),
            clock=clock,
            demo=_demo_tokens(settings),
            oidc=oidc,
            sessions=sessions,
        )
        idle = timedelta(seconds=settings.session_idle_timeout_s)
        purging = asyncio.ensure_future(_purge_ended_sessions(sessions, clock, idle))
        stack.callback(purging.cancel)
        config = uvicorn.Config(
            create_app(deps, settings.session_secret.get_secret_value()),
            host=settings.http_host,
            port=settings.http_port,
            access_log=False,  # paths carry referral ids
            log_config=None,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            _log_listening(settings, deps)
        await serving


def _log_listening(settings: ConsoleSettings, deps: ConsoleDeps) -> None:
    log.info(
        "http_listening",
        host=settings.http_host,
        port=settings.http_port,
        demo_sign_in=deps.demo is not None,
        oidc=deps.oidc is not None,
        secure_cookies=not settings.allow_insecure_http,
    )
    if deps.demo is not None:
        log.warning(
            "demo_sign_in_on",
            why="CONSOLE_DEMO_SIGN_IN=true: anyone who reaches the console can sign in as "
            "any made-up user; for local development only",
        )


def _settings_or_exit() -> ConsoleSettings:
    """The settings, or the process ends with each problem in words."""
    try:
        settings = ConsoleSettings()
    except ValidationError as err:
        problems = [str(error["msg"]).removeprefix("Value error, ") for error in err.errors()]
    else:
        problems = settings.serving_problems()
        if not problems:
            return settings
    configure_logging("console")
    log.error("console_refused_to_start", problems=problems)
    with contextlib.suppress(OSError):
        print("console: refusing to start: " + "; ".join(problems), file=sys.stderr)
    sys.exit(2)


def main() -> None:
    settings = _settings_or_exit()
    configure_logging("console", settings.log_level)
    log.info("service_starting")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
