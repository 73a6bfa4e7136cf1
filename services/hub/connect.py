"""How the CLI reaches a running stack: the env file ``hub infra up`` wrote, and the Kafka
principals it names (the operator's for the hub's own reads and writes, a force's for what the
hub sends as that force)."""

from pathlib import Path

import typer
from referral_schemas.producers import OPERATOR, force_producer

from infra import stack
from infra.kafka_users import force_env_prefix
from infra.settings import InfraSettings
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.provenance import EventSigner, TrustStore


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


def trust_store(env: dict[str, str]) -> TrustStore:
    """The stack's trust store (``HUB_TRUST_STORE``): which key is whose."""
    return TrustStore(Path(_needed(env, "HUB_TRUST_STORE")))


def operator_signer(env: dict[str, str]) -> EventSigner:
    """Signs what the operator publishes (directory versions, `hub` reads)."""
    return EventSigner(OPERATOR, Path(_needed(env, "HUB_EVENT_SIGNING_KEY_FILE")))


def force_signer(env: dict[str, str], force: str) -> EventSigner:
    """Signs as ``force``'s sending system (its intelligence only)."""
    name = f"{force_env_prefix(force)}_EVENT_SIGNING_KEY_FILE"
    return EventSigner(force_producer(force), Path(_needed(env, name)))


def _needed(env: dict[str, str], name: str) -> str:
    if name not in env:
        raise typer.BadParameter(f"the stack's env file has no {name}: run `hub infra up`")
    return env[name]
