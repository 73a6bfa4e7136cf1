"""How the CLI reaches a running stack: the env file ``hub infra up`` wrote, and the Kafka
principals it names (the operator's for the hub's own reads and writes, a force's for what the
hub sends as that force)."""

import typer

from infra import stack
from infra.kafka_users import force_env_prefix
from infra.settings import InfraSettings
from services.runtime.kafka_clients import KafkaAccess


def stack_env() -> dict[str, str]:
    env = stack.load_env(InfraSettings().root)
    if not env:
        raise typer.BadParameter("the stack is not up: run `make up` (or `hub up`) first")
    return env


def operator_kafka(env: dict[str, str] | None = None) -> KafkaAccess:
    """Kafka as the operator (``HUB_KAFKA_USERNAME``/``HUB_KAFKA_PASSWORD``)."""
    return KafkaAccess.from_env(env if env is not None else stack_env())


def force_kafka(env: dict[str, str], force: str) -> KafkaAccess:
    """Kafka as ``force``'s sending system, which may only write police.intelligence."""
    prefix = force_env_prefix(force)
    if f"{prefix}_KAFKA_USERNAME" not in env:
        raise typer.BadParameter(
            f"the stack has no Kafka principal for force {force!r} ({prefix}_KAFKA_USERNAME); "
            "add it to HUB_KAFKA_FORCES and run `hub infra up`"
        )
    return KafkaAccess.from_env(env, prefix)
