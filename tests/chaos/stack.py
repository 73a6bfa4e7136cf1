"""The chaos suite's own system: a three-node Kafka cluster, PostgreSQL and two instances each
of intake, routing and casework, in a state dir and on ports apart from every other stack.

The state dir is wiped at each run (only one the suite made itself), so every run starts from
empty topics and databases and its figures are comparable.
"""

import shutil
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra import stack
from infra.settings import REPO_ROOT, InfraSettings

MARKER = ".chaos-owned"


class ChaosSettings(BaseSettings):
    """Where the chaos stack lives (``HUB_CHAOS_*``); defaults clash with no other stack."""

    model_config = SettingsConfigDict(env_prefix="HUB_CHAOS_", extra="ignore")

    state_dir: Path = Field(
        default=REPO_ROOT / ".state" / "chaos", description="Wiped at each run."
    )
    kafka_port: int = Field(default=24092, description="Node 1; nodes 2, 3 at +100, +200.")
    kafka_controller_port: int = Field(default=24093, description="Node 1's KRaft listener.")
    pg_port: int = Field(default=25449, description="The suite's own PostgreSQL.")
    rate: float = Field(default=5.0, gt=0, description="Referrals per second the load sends.")


def infra_settings(chaos: ChaosSettings) -> InfraSettings:
    """Three Kafka nodes and an embedded PostgreSQL on the suite's ports, never DATABASE_URL."""
    return InfraSettings(
        state_dir=chaos.state_dir,
        kafka_brokers=3,
        kafka_port=chaos.kafka_port,
        kafka_controller_port=chaos.kafka_controller_port,
        pg_port=chaos.pg_port,
        database_url=None,
        kafka_heap=None,
    )


def fresh_stack(settings: InfraSettings) -> dict[str, str]:
    """Stop and wipe the suite's previous stack, then bring up a new one; returns its env."""
    root = settings.root
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise RuntimeError(f"{root} was not made by the chaos suite; set HUB_CHAOS_STATE_DIR")
    stack.down(settings)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by tests/chaos; wiped by each run\n")
    return stack.up(settings)
