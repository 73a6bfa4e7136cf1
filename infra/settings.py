"""Where the local stack keeps its state and which ports it uses.

This is the only module that reads the environment; everything else takes an
``InfraSettings`` so tests and tools can run several stacks side by side.
"""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"
LOCALHOST = "127.0.0.1"


def _default_jars_dir() -> Path:
    """Jars live outside the repo so every checkout and state dir shares one download."""
    return Path.home() / ".cache" / "referral-hub" / f"kafka-{KAFKA_VERSION}" / "libs"


class InfraSettings(BaseSettings):
    """Settings of the local stack, from ``HUB_*`` variables (and plain ``DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", populate_by_name=True)

    state_dir: Path = Field(
        default=REPO_ROOT / ".state" / "dev",
        description="Data, logs, pid files and generated secrets of one stack.",
    )
    kafka_port: int = Field(default=19092, description="Kafka client listener (PLAINTEXT).")
    kafka_controller_port: int = Field(default=19093, description="KRaft controller listener.")
    pg_port: int = Field(default=55432, description="Embedded PostgreSQL TCP port.")
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="Admin DSN of an existing server; when set, no embedded server is started.",
    )
    kafka_heap: str = Field(default="768m", description="JVM -Xmx of the broker (2-core box).")
    kafka_jars_dir: Path = Field(
        default_factory=_default_jars_dir,
        description="Cache of the broker jars fetched from Maven Central.",
    )

    @property
    def root(self) -> Path:
        """The state dir as an absolute path, so pid files and configs never depend on cwd."""
        return self.state_dir.expanduser().resolve()

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap address clients use to reach the local broker."""
        return f"{LOCALHOST}:{self.kafka_port}"
