"""`hub up`, `hub down`, `hub status`: the whole system on this machine, services included.

Services run as separate background processes, each with the env file the stack wrote,
their JSON logs in <state_dir>/logs/<service>.log.
"""

import asyncio
import os
import sys
import time

import typer
from rich.console import Console
from rich.table import Table

from infra import processes, stack
from infra.settings import InfraSettings
from services.hub import pipeline_status

# Services that exist today, in start order.
SERVICES = ("intake", "routing", "casework", "feedback", "insights", "audit", "console")

console = Console()


def _start_services(settings: InfraSettings, env: dict[str, str]) -> None:
    for service in SERVICES:
        name = f"service-{service}"
        if processes.is_running(name, settings.root):
            console.print(f"{service}: already running")
            continue
        log_path = settings.root / "logs" / f"{service}.log"
        pid = processes.start(
            name,
            [sys.executable, "-m", f"services.{service}.main"],
            log_path=log_path,
            state_dir=settings.root,
            env={**_ops_ports(), **os.environ, **env},
        )
        console.print(f"{service}: started (pid {pid}), log {log_path}")
    time.sleep(1.0)
    for service in SERVICES:
        if not processes.is_running(f"service-{service}", settings.root):
            console.print(
                f"[red]{service} exited at start[/red]; see {settings.root}/logs/{service}.log"
            )
            raise typer.Exit(1)


def _ops_ports() -> dict[str, str]:
    """Each consuming service's ops port (/healthz, /readyz, /metrics); the environment may
    override one with <SERVICE>_OPS_PORT."""
    ports = pipeline_status.OPS_PORTS.items()
    return {f"{service.upper()}_OPS_PORT": str(port) for service, port in ports}


def up() -> None:
    """Start Kafka and PostgreSQL, provision them, and start every service."""
    settings = InfraSettings()
    console.print("starting Kafka and PostgreSQL (the first start fetches the broker jars)...")
    env = stack.up(settings)
    _start_services(settings, env)
    console.print(
        "[green]referral-hub is running.[/green] Try `hub demo`, then `hub referrals list`."
    )


def stop() -> None:
    """Stop every service, leaving Kafka and PostgreSQL running."""
    settings = InfraSettings()
    for service in reversed(SERVICES):
        if processes.stop(f"service-{service}", state_dir=settings.root):
            console.print(f"{service}: stopped")


def down() -> None:
    """Stop every service, then Kafka and PostgreSQL."""
    stop()
    for name in stack.down(InfraSettings()):
        console.print(f"{name}: stopped")


def status() -> None:
    """Which servers and services are running."""
    settings = InfraSettings()
    table = Table("component", "state", "address / log", "pid")
    for component in stack.status(settings):
        state = "running" if component.running else "stopped"
        table.add_row(component.name, state, component.address, str(component.pid or ""))
    for service in SERVICES:
        pid = processes.read_pid(f"service-{service}", settings.root)
        state = "running" if pid else "stopped"
        table.add_row(
            service, state, str(settings.root / "logs" / f"{service}.log"), str(pid or "")
        )
    console.print(table)
    env = stack.load_env(settings.root)
    if env:
        _pipeline_table(settings, env)


def _shown(value: float | None, unit: str = "") -> str:
    if value is None:
        return "?"
    return f"{value:.0f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def _pipeline_table(settings: InfraSettings, env: dict[str, str]) -> None:
    """Per service: consumer lag, outbox backlog (and its oldest row), parked rows, dead
    letters, and what its /readyz says ('?' where a figure could not be read)."""
    running = {
        service: processes.is_running(f"service-{service}", settings.root)
        for service in pipeline_status.OPS_PORTS
    }
    table = Table(
        "service", "consumer lag", "outbox backlog", "oldest", "parked", "dead letters", "readiness"
    )
    for f in asyncio.run(pipeline_status.gather(env, running)):
        table.add_row(
            f.service,
            _shown(f.lag),
            _shown(f.backlog),
            _shown(f.oldest_s, " s"),
            _shown(f.parked),
            _shown(f.dead_letters),
            f.ready,
        )
    console.print(table)
