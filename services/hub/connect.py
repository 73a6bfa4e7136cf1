"""How the CLI reaches a running stack: the env file ``hub infra up`` wrote."""

import typer

from infra import stack
from infra.settings import InfraSettings


def stack_env() -> dict[str, str]:
    env = stack.load_env(InfraSettings().root)
    if not env:
        raise typer.BadParameter("the stack is not up: run `make up` (or `hub up`) first")
    return env
