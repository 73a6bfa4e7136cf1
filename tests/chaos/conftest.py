"""The chaos suite's own stack (three Kafka nodes, PostgreSQL, two instances of each service),
started once for the scenarios and stopped after the last, plus the table it prints."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import stack
from tests.chaos import report
from tests.chaos.faults import Chaos
from tests.chaos.fleet import Fleet
from tests.chaos.load import Acceptor
from tests.chaos.recorder import Recorder
from tests.chaos.stack import ChaosSettings, fresh_stack, infra_settings
from tests.e2e.lifecycle_support import directory_in_force
from tests.support import kafka_auth


@dataclass
class ChaosRun:
    chaos: Chaos
    recorder: Recorder
    rate: float


# Module scope: the cluster and services go away as soon as the last scenario has run, not
# at the end of a whole `make test` session whose other layers they would slow down.
@pytest.fixture(scope="module")
async def chaos_run() -> AsyncIterator[ChaosRun]:
    config = ChaosSettings()
    settings = infra_settings(config)
    env = fresh_stack(settings)
    kafka_auth.remember(env)  # the suite's clients connect as this stack's principals
    fleet = Fleet(env, settings.root / "logs")
    recorder = Recorder(env["HUB_KAFKA_BOOTSTRAP"])
    acceptor: Acceptor | None = None
    try:
        await asyncio.to_thread(fleet.start_all)
        await directory_in_force(env["HUB_KAFKA_BOOTSTRAP"])
        await recorder.start()
        key_file = Path(env["CONSOLE_TOKEN_PRIVATE_KEY_FILE"])
        private_key = await asyncio.to_thread(key_file.read_text)
        acceptor = Acceptor(fleet.casework_urls(), private_key, recorder.to_accept)
        acceptor.start()
        yield ChaosRun(Chaos(settings, env, fleet), recorder, config.rate)
    finally:
        if acceptor is not None:
            await acceptor.stop()
        await recorder.stop()
        fleet.stop_all()
        stack.down(settings)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not report.RESULTS:
        return
    path = report.write(report.RESULTS, ChaosSettings().state_dir)
    terminalreporter.section("chaos: what each fault cost")
    terminalreporter.write_line(report.table(report.RESULTS))
    terminalreporter.write_line(f"(details per scenario in {path})")
