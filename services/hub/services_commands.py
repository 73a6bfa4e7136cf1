"""`hub up`, `hub down`, `hub status`: the whole system on this machine, services included.

Services run as separate background processes, each with its own part of the env file the
stack wrote (``stack.service_env``: no other service's DSN or keys, no admin DSN), their
JSON logs in <state_dir>/logs/<service>.log. This is the local development stack, so the
console gets the demo sign-in and plain HTTP on 127.0.0.1 (``LOCAL_CONSOLE``), and `hub up`
says so on screen; neither is in the env file, so nothing else inherits them.
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

# Development only: the console refuses both on a non-loopback address, and refuses the demo
# sign-in beside OpenID Connect (services/console/settings.py).
LOCAL_CONSOLE = {"CONSOLE_DEMO_SIGN_IN": "true", "CONSOLE_ALLOW_INSECURE_HTTP": "true"}
INSECURE_HTTP_ONLY = {"CONSOLE_ALLOW_INSECURE_HTTP": "true"}


# The staff and audit APIs serve their interactive docs only when told to (off in any other
# deployment); on this machine they help a developer try the API, unless the shell says
# otherwise (e.g. CASEWORK_API_DOCS=false). See services/runtime/api_guard.py.
LOCAL_API_DOCS = {
    "casework": {"CASEWORK_API_DOCS": "true"},
    "audit": {"AUDIT_API_DOCS": "true"},
    "insights": {"INSIGHTS_API_DOCS": "true"},
}


def _service_env(service: str, env: dict[str, str], demo_sign_in: bool) -> dict[str, str]:
    extra = (LOCAL_CONSOLE if demo_sign_in else INSECURE_HTTP_ONLY) if service == "console" else {}
    docs = {k: v for k, v in LOCAL_API_DOCS.get(service, {}).items() if k not in os.environ}
    return {**stack.service_env(service, env), **extra, **docs}


def _say_how_to_sign_in(demo_sign_in: bool) -> None:
    port = os.environ.get("CONSOLE_HTTP_PORT", "8080")
    if demo_sign_in:
        console.print(
            f"[yellow]console: demo sign-in is ON[/yellow] at http://127.0.0.1:{port}, because "
            "this is the local development stack: anyone who reaches it can sign in as a "
            "made-up user, over plain HTTP. A real deployment never sets "
            "CONSOLE_DEMO_SIGN_IN; `hub up --no-demo-sign-in` leaves it off.",
            highlight=False,
        )
    else:
        console.print(
            f"console: demo sign-in is off at http://127.0.0.1:{port}; sign-in needs "
            "CONSOLE_OIDC_* settings.",
            highlight=False,
        )


def _start_services(settings: InfraSettings, env: dict[str, str], demo_sign_in: bool) -> None:
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
            env={**_ops_port(service), **_service_env(service, env, demo_sign_in)},
        )
        console.print(f"{service}: started (pid {pid}), log {log_path}")
    time.sleep(1.0)
    for service in SERVICES:
        if not processes.is_running(f"service-{service}", settings.root):
            console.print(
                f"[red]{service} exited at start[/red]; see {settings.root}/logs/{service}.log"
            )
            raise typer.Exit(1)


def _ops_port(service: str) -> dict[str, str]:
    """The service's ops port (/healthz, /readyz, /metrics), if it consumes; the environment
    may override it with <SERVICE>_OPS_PORT."""
    port = pipeline_status.OPS_PORTS.get(service)
    return {} if port is None else {f"{service.upper()}_OPS_PORT": str(port)}


def up(
    demo_sign_in: bool = typer.Option(
        True, help="The console's demo sign-in (local development only)."
    ),
) -> None:
    """Start Kafka and PostgreSQL, provision them, and start every service."""
    settings = InfraSettings()
    console.print("starting Kafka and PostgreSQL (the first start fetches the broker jars)...")
    env = stack.up(settings)
    _start_services(settings, env, demo_sign_in)
    _say_how_to_sign_in(demo_sign_in)
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
