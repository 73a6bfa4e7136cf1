"""Where the local stack keeps its state and which ports it uses.

This is the only module that reads the environment; everything else takes an
``InfraSettings`` so tests and tools can run several stacks side by side.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"
LOCALHOST = "127.0.0.1"
_FORCE_CODE = re.compile(r"[a-z][a-z0-9-]{1,40}")


def _default_jars_dir() -> Path:
    """Jars live outside the repo so every checkout and state dir shares one download."""
    return Path.home() / ".cache" / "referral-hub" / f"kafka-{KAFKA_VERSION}" / "libs"


@dataclass(frozen=True)
class Retention:
    """How many days the topics that hold raw input keep it; every other topic, for ever."""

    intelligence_days: int = 30
    dead_letter_days: int = 30


class InfraSettings(BaseSettings):
    """Settings of the local stack, from ``HUB_*`` variables (and plain ``DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", populate_by_name=True)

    state_dir: Path = Field(
        default=REPO_ROOT / ".state" / "dev",
        description="Data, logs, pid files and generated secrets of one stack.",
    )
    kafka_brokers: int = Field(
        default=1,
        description="Kafka nodes: 1 (development default) or 3 (a KRaft cluster of three "
        "combined broker+controller nodes, topics replicated three times).",
    )
    kafka_port: int = Field(default=19092, description="Kafka client listener of node 1.")
    kafka_controller_port: int = Field(default=19093, description="KRaft listener of node 1.")
    kafka_port_step: int = Field(
        default=100, ge=1, description="Node n listens on kafka_port + (n-1) * step (and so on)."
    )
    pg_port: int = Field(default=55432, description="Embedded PostgreSQL TCP port.")
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="Admin DSN of an existing server; when set, no embedded server is started.",
    )
    kafka_heap: str | None = Field(
        default=None,
        description="JVM -Xmx of each node; unset: 768m for one node, 512m each for three "
        "(a 2-core, 24 GiB machine runs the services beside them).",
    )
    kafka_command_config: Path | None = Field(
        default=None,
        description="Client properties file `hub kafka` passes to Kafka's tools as "
        "--command-config; unset: the operator's, named in the stack's env file.",
    )
    kafka_forces: str = Field(
        default="cumbria",
        description="Forces whose sending systems get a Kafka principal (force-<code>) that "
        "may write police.intelligence; comma-separated. A force left out loses its principal "
        "and ACLs at the next `hub infra up`.",
    )
    retention_intelligence_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days police.intelligence keeps each record: the force's own record, which "
        "intake has handled and keeps what it needs of in its own store (docs/privacy.md).",
    )
    retention_dead_letter_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days hub.dead-letter keeps the refused records (and so how long one can "
        "be re-driven); each service's dead_letters table keeps the reason for ever.",
    )
    retention_ended_referral_days: float = Field(
        default=730,
        gt=0,
        le=3650,
        description="Days after a referral ended (closed or cancelled) that intake's retention "
        "job erases its person's details; fractions for tests (docs/privacy.md).",
    )
    kafka_broker_password: SecretStr | None = Field(
        default=None,
        description="The brokers' own password (inter-broker SCRAM, controller listener); "
        "unset: generated into secrets/kafka-users.json. Compose sets it for its containers.",
    )
    kafka_controller_bootstrap: str | None = Field(
        default=None,
        description="Controller listeners provisioning sends SCRAM and ACL changes to, "
        "host:port[,...]; unset: the local nodes'.",
    )
    kafka_jars_dir: Path = Field(
        default_factory=_default_jars_dir,
        description="Cache of the broker jars fetched from Maven Central.",
    )

    @field_validator("kafka_brokers")
    @classmethod
    def _one_or_three(cls, brokers: int) -> int:
        """Two nodes cannot outvote a failure and more do not fit this machine's budget."""
        if brokers not in (1, 3):
            raise ValueError("HUB_KAFKA_BROKERS must be 1 or 3")
        return brokers

    @field_validator("kafka_forces")
    @classmethod
    def _force_codes(cls, forces: str) -> str:
        for force in (f.strip() for f in forces.split(",") if f.strip()):
            if not _FORCE_CODE.fullmatch(force):
                raise ValueError(f"HUB_KAFKA_FORCES: {force!r} is not a force code (a-z, 0-9, -)")
        return forces

    @property
    def kafka_force_list(self) -> tuple[str, ...]:
        """The forces of HUB_KAFKA_FORCES, in order, once each."""
        return tuple(dict.fromkeys(f.strip() for f in self.kafka_forces.split(",") if f.strip()))

    @property
    def root(self) -> Path:
        """The state dir as an absolute path, so pid files and configs never depend on cwd."""
        return self.state_dir.expanduser().resolve()

    @property
    def broker_heap(self) -> str:
        """-Xmx of each Kafka node."""
        return self.kafka_heap or ("768m" if self.kafka_brokers == 1 else "512m")

    @property
    def kafka_ports(self) -> list[int]:
        """Client listener port of each node, node 1 first."""
        return [self.kafka_port + n * self.kafka_port_step for n in range(self.kafka_brokers)]

    @property
    def kafka_controller_ports(self) -> list[int]:
        """KRaft controller listener port of each node, node 1 first."""
        step = self.kafka_port_step
        return [self.kafka_controller_port + n * step for n in range(self.kafka_brokers)]

    @property
    def retention(self) -> "Retention":
        return Retention(self.retention_intelligence_days, self.retention_dead_letter_days)

    @property
    def kafka_replication(self) -> int:
        """Replicas of every topic: one per node, at most three."""
        return min(self.kafka_brokers, 3)

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap list clients use to reach the local broker(s): every node, comma-separated."""
        return ",".join(f"{LOCALHOST}:{port}" for port in self.kafka_ports)
