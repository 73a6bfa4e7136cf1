"""``hub bench``: the benchmark (``python -m bench.run`` from the repository), with options.

It runs in its own process from the checkout, because the bench lives beside the services
(bench/), not inside the installed package. Without HUB_* set it uses its own stack in
.state/bench on ports of its own, never the dev stack; see docs/performance.md.
"""

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from infra.settings import REPO_ROOT


def bench_argv(
    *,
    events: int,
    rates: str,
    rate_seconds: float,
    queue_rows: int,
    smoke: bool,
    reuse: bool,
    keep_running: bool,
    service_env: list[str],
    profile: str,
    results_dir: Path | None,
) -> list[str]:
    """The ``python -m bench.run`` command line for these options."""
    argv = [sys.executable, "-m", "bench.run", "--events", str(events), "--rates", rates]
    argv += ["--rate-seconds", str(rate_seconds), "--queue-rows", str(queue_rows)]
    argv += ["--smoke"] if smoke else []
    argv += ["--reuse"] if reuse else []
    argv += ["--keep-running"] if keep_running else []
    for item in service_env:
        argv += ["--service-env", item]
    argv += ["--profile", profile] if profile else []
    argv += ["--results-dir", str(results_dir)] if results_dir is not None else []
    return argv


def bench(
    events: Annotated[int, typer.Option(min=1, help="Events of the throughput run.")] = 20_000,
    rates: Annotated[str, typer.Option(help="Open-loop arrival rates, events/s.")] = "50,200,1000",
    rate_seconds: Annotated[float, typer.Option(min=1, help="Seconds at each rate.")] = 20.0,
    queue_rows: Annotated[int, typer.Option(min=1, help="Referrals stored for the queue page.")] = (
        100_000
    ),
    smoke: Annotated[bool, typer.Option(help="A few hundred events; proves it works.")] = False,
    reuse: Annotated[bool, typer.Option(help="Keep the bench stack's data (no wipe).")] = False,
    keep_running: Annotated[bool, typer.Option(help="Leave Kafka and PostgreSQL up.")] = False,
    service_env: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE for the services, e.g. ROUTING_OUTBOX_BATCH_SIZE=1000."),
    ] = None,
    profile: Annotated[str, typer.Option(help="Services to sample with py-spy.")] = "",
    results_dir: Annotated[Path | None, typer.Option(help="Where the JSON goes.")] = None,
) -> None:
    """Measure throughput, latency, the queue page and the raw Kafka ceilings; print a table
    beside the targets and write bench/results/latest.json."""
    argv = bench_argv(
        events=events,
        rates=rates,
        rate_seconds=rate_seconds,
        queue_rows=queue_rows,
        smoke=smoke,
        reuse=reuse,
        keep_running=keep_running,
        service_env=service_env or [],
        profile=profile,
        results_dir=results_dir,
    )
    raise typer.Exit(subprocess.run(argv, cwd=REPO_ROOT, check=False).returncode)
