"""Browser tests: Debian's Chromium driven by Playwright for Python against the whole
running system (intake, routing, casework, feedback and the console as separate processes
on the real broker and database). No browser is ever downloaded: ``executable_path`` points
at the system's Chromium."""

import importlib.util
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from infra.settings import InfraSettings
from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import bootstrap, service_logs
from tests.e2e.lifecycle_support import free_port, start_system
from tests.support.services import ServiceProcess

__all__ = ["bootstrap", "service_logs"]

CHROMIUM = Path(os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: a real browser against the running system")


@dataclass(frozen=True)
class RunningSystem:
    console_url: str
    casework_port: int
    insights: bool
    """Whether insights runs (its figures feed the programme page)."""
    audit: bool
    """Whether audit runs (its ledger feeds the auditor's pages)."""


def _present(service: str) -> bool:
    """Services built alongside the console run when their code is in the tree."""
    return importlib.util.find_spec(f"services.{service}.main") is not None


@pytest.fixture(scope="package")
def package_spawn(stack_env: dict[str, str], service_logs: Path) -> Iterator[Any]:
    """Like the e2e ``spawn`` fixture, but the processes serve every browser test."""
    started: list[ServiceProcess] = []

    def start(name: str, log_name: str, **extra_env: str) -> ServiceProcess:
        service = ServiceProcess(name, {**stack_env, **extra_env}, service_logs / f"{log_name}.log")
        started.append(service)
        return service.start()

    yield start
    for service in reversed(started):
        service.stop()


def _start_optional(
    spawn: Any, infra_settings: InfraSettings, public_key: Path
) -> tuple[int | None, int | None]:
    """insights and audit, when present; their HTTP ports."""
    ports: list[int | None] = []
    for service, env in (
        ("insights", {}),
        ("audit", {"AUDIT_CHECKPOINT_KEY_FILE": str(_checkpoint_key(infra_settings))}),
    ):
        if not _present(service):
            ports.append(None)
            continue
        port = free_port()
        prefix = service.upper()
        started = spawn(
            service,
            f"browser-{service}",
            **{
                f"{prefix}_HTTP_PORT": str(port),
                f"{prefix}_TOKEN_PUBLIC_KEY_FILE": str(public_key),
            },
            **env,
        )
        started.wait_for_log('"http_listening"')
        ports.append(port)
    return ports[0], ports[1]


def _checkpoint_key(infra_settings: InfraSettings) -> Path:
    """The stack's checkpoint key (what `hub infra up` makes), so checkpoints verify."""
    signing = importlib.import_module("services.audit.signing")
    path: Path = signing.ensure_checkpoint_key(infra_settings.root)
    return path


@pytest.fixture(scope="package")
def system(
    package_spawn: Any, tmp_path_factory: pytest.TempPathFactory, infra_settings: InfraSettings
) -> RunningSystem:
    keys = tmp_path_factory.mktemp("browser-keys")
    private_path, public_path = ensure_signing_keys(keys)
    casework_port = start_system(package_spawn, "browser", public_path)
    insights_port, audit_port = _start_optional(package_spawn, infra_settings, public_path)
    console_port = free_port()
    console = package_spawn(
        "console",
        "browser-console",
        CONSOLE_HTTP_PORT=str(console_port),
        CONSOLE_CASEWORK_URL=f"http://127.0.0.1:{casework_port}",
        CONSOLE_INSIGHTS_URL=f"http://127.0.0.1:{insights_port or free_port()}",
        CONSOLE_AUDIT_URL=f"http://127.0.0.1:{audit_port or free_port()}",
        CONSOLE_TOKEN_PRIVATE_KEY_FILE=str(private_path),
        CONSOLE_SESSION_SECRET=secrets.token_urlsafe(32),
        # What `hub up` sets for the local console: the browser signs in as demo users over
        # plain HTTP on 127.0.0.1. Neither is ever on by default.
        CONSOLE_DEMO_SIGN_IN="true",
        CONSOLE_ALLOW_INSECURE_HTTP="true",
    )
    console.wait_for_log('"http_listening"')
    return RunningSystem(
        f"http://127.0.0.1:{console_port}",
        casework_port,
        insights=insights_port is not None,
        audit=audit_port is not None,
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        # Only when pytest runs without make: every make target installs it first.
        fix = "bash infra/prerequisites.sh install (Debian's package 'chromium')"
        pytest.fail(f"no Chromium at {CHROMIUM}: run {fix}")
    return CHROMIUM


@pytest.fixture(scope="package")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=120_000
        )
        yield launched
        await launched.close()
