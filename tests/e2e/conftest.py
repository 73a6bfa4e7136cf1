"""End-to-end fixtures: services run as separate processes against the real stack."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.services import ServiceProcess


@pytest.fixture(scope="session")
def bootstrap(stack_env: dict[str, str]) -> str:
    return stack_env["HUB_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


Spawn = Callable[..., ServiceProcess]
"""``spawn(service_name, log_name, **extra_env)`` starts one service process."""


@pytest.fixture
def spawn(stack_env: dict[str, str], service_logs: Path) -> Iterator[Spawn]:
    """Start service processes for one test; whatever the test's fate, none outlives it."""
    started: list[ServiceProcess] = []

    def start(name: str, log_name: str, **extra_env: str) -> ServiceProcess:
        env = {**stack_env, **extra_env}
        service = ServiceProcess(name, env, service_logs / f"{log_name}.log")
        started.append(service)
        return service.start()

    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="module")
def intake(stack_env: dict[str, str], service_logs: Path) -> Iterator[ServiceProcess]:
    """One intake instance for the module's tests (consumer group ``intake``)."""
    service = ServiceProcess("intake", stack_env, service_logs / "intake-shared.log")
    try:
        yield service.start()
    finally:
        service.stop()


@pytest.fixture
async def intake_db(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    """A connection as intake's own role, to look at what intake stored."""
    conn = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    yield conn
    await conn.close()
