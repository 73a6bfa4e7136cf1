"""``hub kafka TOOL [ARGS]...``: Kafka's own command-line tools against this stack.

    hub kafka kafka-topics --describe --topic referral.events
    hub kafka kafka-consumer-groups --describe --group routing
    hub kafka --command-config operator.properties kafka-acls --list

The wrapper adds ``--bootstrap-server`` (every node of the stack) and ``--command-config``: the
operator's client properties (SASL/SCRAM-SHA-512 as ``operator``, a super user), which
``hub infra up`` writes to ``<state_dir>/secrets/kafka-operator.properties`` and names in the
env file as HUB_KAFKA_COMMAND_CONFIG; everything after TOOL goes to the tool unchanged.
"""

import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra import InfraError, stack
from infra.kafka_tools import TOOLS, WITHHELD, find_tool, tool_command
from infra.settings import InfraSettings

COMMAND_CONFIG_KEY = "HUB_KAFKA_COMMAND_CONFIG"
"""Env-file key naming the operator's client properties (infra/kafka_users.py)."""


def _tools_table() -> Table:
    table = Table(title="hub kafka TOOL [ARGS]...", show_lines=False)
    table.add_column("tool")
    table.add_column("for")
    for tool in TOOLS.values():
        table.add_row(tool.name, tool.summary)
    for name, why in WITHHELD.items():
        table.add_row(f"[dim]{name}[/dim]", f"[dim]not offered: {why}[/dim]")
    return table


def _command_config(
    given: Path | None, settings: InfraSettings, env: dict[str, str]
) -> Path | None:
    """The option, else HUB_KAFKA_COMMAND_CONFIG, else what the stack's env file names."""
    if given is not None:
        return given
    if settings.kafka_command_config is not None:
        return settings.kafka_command_config
    from_env = env.get(COMMAND_CONFIG_KEY)
    return Path(from_env) if from_env else None


def kafka(
    tool: Annotated[
        str | None, typer.Argument(help="A Kafka tool, e.g. kafka-topics; none: list them.")
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(help="Passed to the tool unchanged (try --help).")
    ] = None,
    command_config: Annotated[
        Path | None,
        typer.Option(
            "--command-config",
            exists=True,
            dir_okay=False,
            help="Client properties file for the tool (credentials, TLS); default "
            "HUB_KAFKA_COMMAND_CONFIG or the stack's env file.",
        ),
    ] = None,
) -> None:
    """Run one of Kafka's own tools (kafka-topics, kafka-consumer-groups, kafka-acls, ...)
    against this stack's broker(s). Options for hub come before TOOL."""
    if tool is None:
        Console().print(_tools_table())
        return
    found = find_tool(tool)
    if found is None:
        why = WITHHELD.get(tool.removesuffix(".sh"))
        reason = f"{tool} is not offered: {why}" if why else f"no Kafka tool called {tool}"
        Console(stderr=True).print(f"{reason}; `hub kafka` lists the tools", highlight=False)
        raise typer.Exit(2)
    settings = InfraSettings()
    env = stack.load_env(settings.root)
    bootstrap = env.get("HUB_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    config = _command_config(command_config, settings, env)
    try:
        argv = tool_command(settings, found, args or [], bootstrap=bootstrap, command_config=config)
    except InfraError as err:
        Console(stderr=True).print(f"cannot run {found.name}: {err}", highlight=False)
        raise typer.Exit(1) from err
    raise typer.Exit(subprocess.run(argv, check=False).returncode)


# Everything after TOOL belongs to the tool, even --help and options hub also knows.
KAFKA_CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": True}
