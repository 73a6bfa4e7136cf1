"""Run the console: ``python -m services.console.main``. All wiring is here, none at import."""

import asyncio
import secrets
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import uvicorn

from services.console.app import create_app
from services.console.audit import AuditClient
from services.console.casework import CaseworkClient
from services.console.demo import DemoTokens
from services.console.figures import InsightsClient
from services.console.oidc import OidcClient
from services.console.settings import ConsoleSettings
from services.console.web import ConsoleDeps
from services.runtime.clock import SystemClock
from services.runtime.logs import configure_logging, get_logger

log = get_logger()


def _demo_tokens(settings: ConsoleSettings) -> DemoTokens | None:
    if settings.token_private_key_file is None:
        return None
    pem = settings.token_private_key_file.read_text(encoding="utf-8")
    return DemoTokens(pem, timedelta(seconds=settings.token_lifetime_s))


def _session_secret(settings: ConsoleSettings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    log.warning("session_secret_generated", why="CONSOLE_SESSION_SECRET is not set")
    return secrets.token_urlsafe(32)


async def serve(settings: ConsoleSettings) -> None:
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    async with AsyncExitStack() as stack:

        async def client(base_url: str = "") -> httpx.AsyncClient:
            return await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=timeout)
            )

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
        deps = ConsoleDeps(
            settings=settings,
            casework=CaseworkClient(await client(settings.casework_url)),
            insights=InsightsClient(await client(settings.insights_url)),
            audit=AuditClient(await client(settings.audit_url)),
            clock=SystemClock(),
            demo=_demo_tokens(settings),
            oidc=oidc,
        )
        config = uvicorn.Config(
            create_app(deps, _session_secret(settings)),
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
            log.info(
                "http_listening",
                host=settings.http_host,
                port=settings.http_port,
                demo_sign_in=deps.demo is not None,
                oidc=oidc is not None,
            )
        await serving


def main() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    log.info("service_starting")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
