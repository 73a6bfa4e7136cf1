"""The whole local stack: Kafka, PostgreSQL, database, service roles and topics.

``up()`` is idempotent and fast when everything already runs; it leaves ``<state_dir>/env``
(mode 0600, it holds passwords) with the addresses and DSNs of the whole stack, for the
operator's ``hub`` commands and the tests. Format: one ``KEY=VALUE`` per line, ``#``
comments, no quoting::

    HUB_KAFKA_BOOTSTRAP=127.0.0.1:19092    (three nodes: 127.0.0.1:19092,127.0.0.1:19192,...)
    HUB_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
    HUB_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
    HUB_KAFKA_USERNAME=operator             (the operator's Kafka principal, a super user)
    HUB_KAFKA_PASSWORD=<generated>
    HUB_KAFKA_COMMAND_CONFIG=<state_dir>/secrets/kafka-operator.properties
    HUB_KAFKA_KCAT_CONFIG=<state_dir>/secrets/kafka-operator.kcat.conf
    HUB_FORCE_CUMBRIA_KAFKA_USERNAME=force-cumbria   (and _PASSWORD: Cumbria's sending system)
    INTAKE_KAFKA_USERNAME=intake            (and _PASSWORD; one principal per service)
    INTAKE_DATABASE_URL=postgresql://intake:<password>@127.0.0.1:55432/referral_hub
    ...one <SERVICE>_DATABASE_URL per service...
    HUB_ADMIN_DATABASE_URL=postgresql://postgres:<password>@127.0.0.1:55432/postgres
    INTAKE_MATCHING_KEY=<generated once, see infra/app_secrets.py>
    HUB_TRUST_STORE=<state_dir>/trust/producers.json   (every producer's public keys)
    INTAKE_EVENT_SIGNING_KEY_FILE=<state_dir>/keys/events/intake.pem   (one per service)
    HUB_EVENT_SIGNING_KEY_FILE=...operator.pem, HUB_FORCE_CUMBRIA_EVENT_SIGNING_KEY_FILE=...

A service process gets only its part of it (``service_env``): the shared Kafka address and
protocol and its own ``<SERVICE>_*`` values (its own Kafka principal among them), never
another service's DSN, keys or Kafka password, never the admin DSN or the operator's or a
force's Kafka credentials.
``<state_dir>/env.d/<service>`` holds that part for compose, which sources one file per
service. The state dir is closed to other users (0700; files holding secrets 0600).
"""

import fcntl
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from aiokafka.errors import KafkaError

from infra import (
    ComponentStatus,
    InfraError,
    kafka_local,
    postgres_local,
    processes,
    run_sync,
    write_private,
)
from infra.app_secrets import ensure_app_secrets
from infra.database import (
    DATABASE,
    SERVICES,
    ensure_database,
    ensure_service_role,
    with_database,
)
from infra.event_keys import ensure_event_keys
from infra.kafka_config import with_layout_of_state_dir
from infra.kafka_security import operator_access, set_credentials_when_ready, sync_acls
from infra.kafka_users import ensure_kafka_users, kafka_env, write_client_configs
from infra.keyring_schema import provision_keyring
from infra.personal_data_keys import ensure_personal_data_keys
from infra.settings import InfraSettings
from infra.topics import ensure_topics, topic_specs
from services.runtime.key_files import CHECKPOINT_KEY, TOKEN_KEY, stack_key_pair

__all__ = ["ComponentStatus", "down", "env_path", "load_env", "service_env", "status", "up"]

log = logging.getLogger(__name__)

PROCESSES = (*SERVICES, "console")
"""Every service process, each with its own env prefix ``<NAME>_``."""
SHARED = frozenset(
    {
        "HUB_KAFKA_BOOTSTRAP",
        "HUB_KAFKA_SECURITY_PROTOCOL",
        "HUB_KAFKA_SASL_MECHANISM",
        "HUB_KAFKA_SSL_CAFILE",
        "HUB_TRUST_STORE",
    }
)
"""Stack values every service process gets."""
ADMIN_ONLY = frozenset(
    {
        "DATABASE_URL",
        "HUB_ADMIN_DATABASE_URL",
        "HUB_KAFKA_USERNAME",
        "HUB_KAFKA_PASSWORD",
        "HUB_KAFKA_COMMAND_CONFIG",
        "HUB_KAFKA_KCAT_CONFIG",
        "HUB_KAFKA_BROKER_PASSWORD",
        "HUB_EVENT_SIGNING_KEY_FILE",
    }
)
"""Superuser DSNs and Kafka credentials of the operator and the brokers: for provisioning
and the operator, never for a service."""
ADMIN_ONLY_PREFIXES = ("HUB_FORCE_",)
"""Force systems' Kafka credentials (``HUB_FORCE_<FORCE>_KAFKA_*``): the hub sends as a force
(`hub intelligence send --force`), a service never does."""


def env_path(state_dir: Path) -> Path:
    """Where ``up()`` writes the env file of a stack."""
    return state_dir / "env"


def service_env_path(state_dir: Path, service: str) -> Path:
    """Where ``up()`` writes the part of the env file that ``service`` gets."""
    return state_dir / "env.d" / service


def service_env(
    service: str, env: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment to start ``service``'s process with: ``base`` (default: this
    process's environment) without anything meant for another service or the admin, then
    the shared and the service's own values of ``env`` (the stack's, plus any extras)."""
    if service not in PROCESSES:
        raise ValueError(f"unknown service {service!r}")
    base = os.environ if base is None else base
    own = {k: v for k, v in env.items() if k in SHARED or _owner(k) == service}
    kept = {
        k: v
        for k, v in base.items()
        if not _admin_only(k) and k not in env and _owner(k) in (None, service)
    }
    return {**kept, **own}


def _admin_only(key: str) -> bool:
    return key in ADMIN_ONLY or key.startswith(ADMIN_ONLY_PREFIXES)


def _owner(key: str) -> str | None:
    """The service whose prefix ``key`` has, if any."""
    return next((name for name in PROCESSES if key.startswith(f"{name.upper()}_")), None)


@contextmanager
def _exclusive(settings: InfraSettings) -> Iterator[None]:
    """One ``up``/``down`` per state dir at a time (a test run and a terminal may race)."""
    lock_file = settings.root / "run" / "stack.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(settings: InfraSettings | None = None) -> dict[str, str]:
    """Start and provision everything; returns the values written to the env file."""
    settings = with_layout_of_state_dir(settings or InfraSettings())
    with _exclusive(settings):
        close_state_dir(settings)
        kafka_local.start(settings, wait=False)  # the JVM boots while PostgreSQL starts
        postgres_local.start(settings)
        kafka_local.wait_ready(settings)
        try:
            env = run_sync(
                lambda: provision(
                    postgres_local.admin_dsn(settings), settings.kafka_bootstrap, settings
                )
            )
        except (OSError, asyncpg.PostgresError, KafkaError) as err:
            raise InfraError(f"provisioning failed: {type(err).__name__}: {err}") from err
        write_env(env_path(settings.root), env)
        close_state_dir(settings)
    return env


def close_state_dir(settings: InfraSettings) -> None:
    """Other users cannot list or read the state dir: it holds the data, logs and secrets.

    As root the embedded PostgreSQL runs as its own user, which must pass through the state
    dir (search only, o+x) to its data folder; that folder is its own and 0700.
    """
    root = settings.root
    root.mkdir(parents=True, exist_ok=True)
    traverse = stat.S_IXOTH if os.geteuid() == 0 and not postgres_local.is_external(settings) else 0
    root.chmod(0o700 | traverse)
    for child in root.iterdir():
        if child.is_symlink() or child.stat().st_uid != os.geteuid():
            continue  # PostgreSQL's own folders (0700 already)
        child.chmod(0o700 if child.is_dir() else 0o600)
    # Kafka's data (every record), keys and trust: their owner's alone, down to each file
    # (a broker started by an earlier version wrote its segments 0644).
    for private in ("kafka", "keys", "trust"):
        processes.restrict_tree(root / private)
    secrets_dir = root / "secrets"
    if secrets_dir.is_dir():
        for path in secrets_dir.iterdir():
            if path.is_file() and not path.is_symlink():
                path.chmod(0o600)


async def provision(admin: str, bootstrap: str, settings: InfraSettings) -> dict[str, str]:
    """Database, one role and schema per service, secrets, Kafka principals and their ACLs,
    topics; returns the env values.

    Works on any PostgreSQL admin DSN and Kafka bootstrap, local or not (compose uses it:
    there the SCRAM credentials are first set here, on HUB_KAFKA_CONTROLLER_BOOTSTRAP).
    """
    await ensure_database(admin)
    env = {"HUB_KAFKA_BOOTSTRAP": bootstrap}
    for service in SERVICES:
        dsn = await ensure_service_role(admin, service, settings=settings)
        env[f"{service.upper()}_DATABASE_URL"] = dsn
    # The referrals' data keys, apart from the data; casework's key to them outside it.
    await provision_keyring(with_database(admin, DATABASE), DATABASE)
    env.update(ensure_personal_data_keys(settings.root))
    env["INTAKE_RETENTION_ENDED_REFERRAL_DAYS"] = f"{settings.retention_ended_referral_days:g}"
    env["HUB_ADMIN_DATABASE_URL"] = admin
    env.update(ensure_app_secrets(settings))
    # Tokens for the staff APIs: the stack's own Ed25519 key pair (hub token signs with it).
    private_key, public_key_path = stack_key_pair(settings.root, TOKEN_KEY)
    public_key = str(public_key_path)
    # The console's demo sign-in mints short-lived tokens for the user it signs in. The key
    # is read only when CONSOLE_DEMO_SIGN_IN=true, which this env never sets: `hub up` sets
    # it for the local console alone (services/hub/services_commands.py).
    env["CONSOLE_TOKEN_PRIVATE_KEY_FILE"] = str(private_key)
    env["CASEWORK_TOKEN_PUBLIC_KEY_FILE"] = public_key
    env["INSIGHTS_TOKEN_PUBLIC_KEY_FILE"] = public_key
    env["AUDIT_TOKEN_PUBLIC_KEY_FILE"] = public_key
    # The ledger's checkpoint signing key: outside the database, like a real deployment's HSM.
    env["AUDIT_CHECKPOINT_KEY_FILE"] = str(stack_key_pair(settings.root, CHECKPOINT_KEY)[0])
    # Every producer's event-signing key and the trust store naming them (infra/event_keys.py).
    env.update(ensure_event_keys(settings))
    users = ensure_kafka_users(settings)
    await set_credentials_when_ready(settings, users)
    await sync_acls(settings, users)
    write_client_configs(settings, users)
    env.update(kafka_env(settings, users))
    kafka = operator_access(bootstrap, users)
    specs = topic_specs(settings.retention)
    report = await ensure_topics(kafka, specs, replication=settings.kafka_replication)
    if report.created:
        log.info("created topics: %s", ", ".join(report.created))
    for topic, (expected, actual) in report.mismatched.items():
        log.warning("topic %s has %d partitions, expected %d", topic, actual, expected)
    return env


def write_env(path: Path, env: dict[str, str]) -> None:
    """KEY=VALUE lines; private because the DSNs carry passwords. Beside it, in ``env.d/``,
    the part of it each service gets."""
    header = "# written by `hub infra up`; holds passwords, do not commit or share\n"
    write_private(path, header + "".join(f"{key}={value}\n" for key, value in env.items()))
    for service in PROCESSES:
        part = service_env(service, env, base={})
        lines = "".join(f"{key}={value}\n" for key, value in part.items())
        target = service_env_path(path.parent, service)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        write_private(target, f"# {service}'s part of {path.name}, written with it\n{lines}")


def load_env(state_dir: Path | None = None) -> dict[str, str]:
    """Read the env file written by ``up()``; empty if the stack was never brought up."""
    path = env_path(state_dir if state_dir is not None else InfraSettings().root)
    if not path.is_file():
        return {}
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def down(settings: InfraSettings | None = None) -> list[str]:
    """Stop the local servers (never an external DATABASE_URL); returns what was stopped."""
    settings = settings or InfraSettings()
    stopped: list[str] = []
    with _exclusive(settings):
        stopped += kafka_local.stop(settings)
        if postgres_local.stop(settings):
            stopped.append(postgres_local.NAME)
    return stopped


def status(settings: InfraSettings | None = None) -> list[ComponentStatus]:
    """One entry per component (each Kafka node, then PostgreSQL): running?, address, pid."""
    settings = with_layout_of_state_dir(settings or InfraSettings())
    return [*kafka_local.status(settings), postgres_local.status(settings)]
