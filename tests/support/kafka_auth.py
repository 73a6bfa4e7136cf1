"""Kafka identities for tests: every test client connects as a principal of the stack it
talks to, from that stack's env file (`hub infra up` wrote it).

Tests connect as the operator (a super user: tests use fresh consumer groups and temporary
topics) unless they name another principal: ``service_access(env, "feedback")`` is feedback's
own identity, ``force_access(env, "cumbria")`` Cumbria's sending system's.
"""

from typing import Any

from infra import stack
from infra.kafka_users import force_env_prefix
from infra.settings import InfraSettings
from services.runtime.kafka_clients import KafkaAccess

_STACKS: dict[str, dict[str, str]] = {}
"""Env of each stack this test run brought up, by its bootstrap list."""


def remember(env: dict[str, str]) -> None:
    """Make the stack of ``env`` known, so a bare bootstrap list finds its credentials."""
    _STACKS[env["HUB_KAFKA_BOOTSTRAP"]] = env


def stack_env_of(bootstrap: str) -> dict[str, str]:
    """The env of the stack at ``bootstrap`` (one brought up by this run, else this run's
    HUB_STATE_DIR)."""
    if bootstrap not in _STACKS:
        env = stack.load_env(InfraSettings().root)
        if env.get("HUB_KAFKA_BOOTSTRAP") != bootstrap:
            raise AssertionError(f"no stack env known for Kafka at {bootstrap}")
        remember(env)
    return _STACKS[bootstrap]


def access(bootstrap: str) -> KafkaAccess:
    """The operator's identity on the stack at ``bootstrap``."""
    return KafkaAccess.from_env(stack_env_of(bootstrap))


def client_kwargs(bootstrap: str) -> dict[str, Any]:
    """aiokafka keyword arguments: ``bootstrap_servers`` and the operator's credentials."""
    return access(bootstrap).client_kwargs()


def service_access(env: dict[str, str], service: str) -> KafkaAccess:
    """``service``'s own identity (``<SERVICE>_KAFKA_*``)."""
    return KafkaAccess.from_env(env, service.upper())


def force_access(env: dict[str, str], force: str) -> KafkaAccess:
    """The identity of ``force``'s sending system."""
    return KafkaAccess.from_env(env, force_env_prefix(force))
