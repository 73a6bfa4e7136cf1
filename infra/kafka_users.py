"""The Kafka credentials of a stack: one generated password per principal, kept in
``<state_dir>/secrets/kafka-users.json`` (0600), and what the env file and the operator's
client properties files say about them.

The file is the source of truth: ``hub infra up`` sets every wanted principal's SCRAM
credential from it (a new principal, one rotated by removing its entry, a state dir from
before authentication) and removes the credential of a principal no longer wanted
(``retired``: a force dropped from HUB_KAFKA_FORCES). See docs/security.md, "Kafka".
"""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from infra import write_private
from infra.kafka_principals import BROKER, OPERATOR, SERVICE_ACCESS, force_principal, principals
from infra.settings import InfraSettings

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"
"""Clients on 127.0.0.1 (or compose's private network); across a network: SASL_SSL."""


@dataclass(frozen=True)
class KafkaUsers:
    """The wanted principals' passwords, and the principals to remove."""

    passwords: dict[str, str]
    retired: frozenset[str]
    """In the file but no longer wanted: their credentials and ACLs go."""

    def password(self, principal: str) -> str:
        return self.passwords[principal]


def users_path(settings: InfraSettings) -> Path:
    return settings.root / "secrets" / "kafka-users.json"


def _read(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def _write(path: Path, passwords: dict[str, str]) -> None:
    write_private(path, json.dumps(dict(sorted(passwords.items())), indent=2) + "\n")


def ensure_kafka_users(settings: InfraSettings) -> KafkaUsers:
    """Every wanted principal's password, generating (and saving) the missing ones. The
    brokers' password may come from HUB_KAFKA_BROKER_PASSWORD (compose: the Kafka containers
    are configured with it before provisioning runs)."""
    path = users_path(settings)
    stored = _read(path)
    wanted = principals(settings.kafka_force_list)
    changed = False
    if settings.kafka_broker_password is not None:
        given = settings.kafka_broker_password.get_secret_value()
        changed = stored.get(BROKER) != given
        stored[BROKER] = given
    for name in wanted:
        if name not in stored:
            stored[name] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        _write(path, stored)
    return KafkaUsers(
        passwords={name: stored[name] for name in wanted},
        retired=frozenset(set(stored) - set(wanted)),
    )


def forget_retired(settings: InfraSettings, users: KafkaUsers) -> None:
    """The brokers no longer hold the retired principals' credentials: drop them here too."""
    if not users.retired:
        return
    path = users_path(settings)
    stored = _read(path)
    _write(path, {name: pw for name, pw in stored.items() if name not in users.retired})


def operator_properties_path(settings: InfraSettings) -> Path:
    """Client properties for Kafka's Java tools (``--command-config``)."""
    return settings.root / "secrets" / "kafka-operator.properties"


def operator_kcat_path(settings: InfraSettings) -> Path:
    """The same for librdkafka clients: ``kcat -F FILE``."""
    return settings.root / "secrets" / "kafka-operator.kcat.conf"


def write_client_configs(settings: InfraSettings, users: KafkaUsers) -> None:
    """The operator's credentials as client configuration files (0600), for their own tools."""
    password = users.password(OPERATOR)
    header = "# written by `hub infra up`: the operator's Kafka credentials; do not share\n"
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{OPERATOR}" password="{password}";'
    )
    write_private(
        operator_properties_path(settings),
        header
        + f"security.protocol={PROTOCOL}\nsasl.mechanism={MECHANISM}\nsasl.jaas.config={jaas}\n",
    )
    write_private(
        operator_kcat_path(settings),
        header + f"security.protocol={PROTOCOL}\nsasl.mechanisms={MECHANISM}\n"
        f"sasl.username={OPERATOR}\nsasl.password={password}\n",
    )


def force_env_prefix(force: str) -> str:
    """Env-file prefix of a force's sending system: ``HUB_FORCE_CUMBRIA``."""
    return "HUB_FORCE_" + force.upper().replace("-", "_")


def kafka_env(settings: InfraSettings, users: KafkaUsers) -> dict[str, str]:
    """What the env file says about Kafka identities: the shared protocol and mechanism,
    each service's own principal (``<SERVICE>_KAFKA_*``, which only that service gets), the
    operator's (``HUB_KAFKA_*``) and each force system's (``HUB_FORCE_<FORCE>_KAFKA_*``)."""
    env = {
        "HUB_KAFKA_SECURITY_PROTOCOL": PROTOCOL,
        "HUB_KAFKA_SASL_MECHANISM": MECHANISM,
        "HUB_KAFKA_USERNAME": OPERATOR,
        "HUB_KAFKA_PASSWORD": users.password(OPERATOR),
        "HUB_KAFKA_COMMAND_CONFIG": str(operator_properties_path(settings)),
        "HUB_KAFKA_KCAT_CONFIG": str(operator_kcat_path(settings)),
    }
    for service in SERVICE_ACCESS:
        env[f"{service.upper()}_KAFKA_USERNAME"] = service
        env[f"{service.upper()}_KAFKA_PASSWORD"] = users.password(service)
    for force in settings.kafka_force_list:
        prefix, principal = force_env_prefix(force), force_principal(force)
        env[f"{prefix}_KAFKA_USERNAME"] = principal
        env[f"{prefix}_KAFKA_PASSWORD"] = users.password(principal)
    return env
