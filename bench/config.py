"""What one benchmark run does: sizes, rates, tuning env for the services, where it writes."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from infra.settings import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"

# Targets from issue 6 / DESIGN.md section 7; printed beside the measured figures.
TARGET_PIPELINE_RATIO = 0.30
TARGET_P99_MS = 250.0
TARGET_P99_RATE = 200.0
TARGET_REPLAY_RATIO = 0.30
TARGET_QUEUE_P95_MS = 50.0
TARGET_QUEUE_ROWS = 100_000

# The bench's own stack when HUB_* is not set (apart from the dev stack and the test stack).
DEFAULT_STACK_ENV = {
    "HUB_STATE_DIR": str(REPO_ROOT / ".state" / "bench"),
    "HUB_KAFKA_PORT": "39092",
    "HUB_KAFKA_CONTROLLER_PORT": "39093",
    "HUB_PG_PORT": "55439",
}


@dataclass(frozen=True)
class Options:
    events: int = 20_000
    """Intelligence events of the throughput phase (and of the raw pass-through)."""
    rates: tuple[float, ...] = (50.0, 200.0, 1000.0)
    rate_seconds: float = 20.0
    """How long the open-loop generator sends at each rate."""
    queue_rows: int = 100_000
    queue_requests: int = 300
    """Timed requests per queue-page variant (after a warm-up)."""
    warmup: int = 200
    drain_timeout_s: float = 900.0
    """Give up on a phase when no new ReferralRouted arrived for this long... in total."""
    fresh: bool = True
    """Wipe the bench's own state dir first (never a dir the bench did not create)."""
    use_running_stack: bool = False
    """Use the stack already up in HUB_STATE_DIR as is (the CI smoke run uses the test stack)."""
    keep_running: bool = False
    """Leave Kafka and PostgreSQL running at the end (services are always stopped)."""
    service_env: Mapping[str, str] = field(default_factory=dict)
    """Extra env for the service processes, for tuning (e.g. INTAKE_OUTBOX_BATCH_SIZE=1000)."""
    instances: Mapping[str, int] = field(default_factory=dict)
    """Instances per service (default 1), e.g. {"routing": 2}: one consumer group each."""
    phases: tuple[str, ...] = ()
    """Only these phases (default: all); e.g. ("replay",) with fresh=False on a kept stack."""
    profile: tuple[str, ...] = ()
    """Services to sample with py-spy during the throughput phase."""
    results_dir: Path = RESULTS_DIR
    label: str = ""
    smoke: bool = False


def smoke(options: Options) -> Options:
    """A few hundred events, one rate, 1,000 queue rows: proves the bench still works."""
    return replace(
        options,
        events=300,
        rates=(50.0,),
        rate_seconds=4.0,
        queue_rows=1_000,
        queue_requests=30,
        warmup=20,
        drain_timeout_s=300.0,
        smoke=True,
    )
