"""``hub infra up|down|status``: the local Kafka and PostgreSQL of one state dir."""

import logging
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from infra import InfraError, stack
from infra.settings import InfraSettings

infra_app = typer.Typer(
    no_args_is_help=True,
    help="Local Kafka (KRaft) and PostgreSQL on 127.0.0.1; state in HUB_STATE_DIR.",
    pretty_exceptions_show_locals=False,  # locals may hold DSNs with passwords
)


def _console() -> Console:
    """A console on the current stdout (so test runners that swap stdout capture it)."""
    return Console()


def _show_progress() -> None:
    """Route infra's progress messages (jar fetch, format, start) to the terminal."""
    handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")
    logging.getLogger("infra").setLevel(logging.INFO)


@infra_app.command()
def up(
    brokers: Annotated[
        int | None,
        typer.Option(
            help="Kafka nodes: 1, or 3 for a KRaft cluster whose topics keep three replicas "
            "(default: HUB_KAFKA_BROKERS, else 1). Use the same number for a state dir each time."
        ),
    ] = None,
) -> None:
    """Start Kafka and PostgreSQL, create the database, service roles and topics."""
    _show_progress()
    try:
        settings = InfraSettings() if brokers is None else InfraSettings(kafka_brokers=brokers)
    except ValidationError as err:
        raise typer.BadParameter("--brokers must be 1 or 3") from err
    try:
        env = stack.up(settings)
    except InfraError as err:
        _console().print(f"[red]hub infra up failed:[/red] {err}", markup=True, highlight=False)
        raise typer.Exit(1) from err
    console = _console()
    console.print(f"[green]up[/green]: Kafka at {env['HUB_KAFKA_BOOTSTRAP']}")
    # The env file holds passwords: say where it is, never print its values.
    console.print(f"stack settings: {stack.env_path(settings.root)} (each service's in env.d/)")
    if "HUB_KAFKA_COMMAND_CONFIG" in env:
        console.print(
            f"Kafka as the operator ({env['HUB_KAFKA_USERNAME']}): `hub kafka TOOL ...`, or "
            f"--command-config {env['HUB_KAFKA_COMMAND_CONFIG']} for Kafka's own tools, "
            f"-F {env['HUB_KAFKA_KCAT_CONFIG']} for kcat",
            highlight=False,
        )


@infra_app.command()
def down() -> None:
    """Stop every Kafka node and the embedded PostgreSQL; data is kept, a DATABASE_URL server
    untouched."""
    _show_progress()
    try:
        stopped = stack.down(InfraSettings())
    except InfraError as err:
        _console().print(f"[red]hub infra down failed:[/red] {err}", highlight=False)
        raise typer.Exit(1) from err
    _console().print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@infra_app.command()
def status() -> None:
    """Show whether each component (each Kafka node, PostgreSQL) runs, where and its pid."""
    table = Table(title="referral-hub infra")
    for column in ("component", "state", "address", "pid"):
        table.add_column(column)
    for component in stack.status(InfraSettings()):
        state = "[green]running[/green]" if component.running else "[red]stopped[/red]"
        pid = str(component.pid) if component.pid is not None else "-"
        table.add_row(component.name, state, component.address, pid)
    _console().print(table)
