"""The benchmark still works: a smoke run (a few hundred events, one rate, 1,000 queue rows)
on the test stack completes, every figure passes its own correctness checks, and the JSON is
written. Nothing here asserts on time: figures come from `make bench`, never from a test."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.settings import REPO_ROOT, InfraSettings

pytestmark = pytest.mark.e2e


def test_a_smoke_run_of_the_bench_completes_with_correct_counts_and_writes_json(
    stack_env: dict[str, str], infra_settings: InfraSettings, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    env = {
        **os.environ,
        "HUB_STATE_DIR": str(infra_settings.root),
        "HUB_KAFKA_PORT": str(infra_settings.kafka_port),
        "HUB_KAFKA_CONTROLLER_PORT": str(infra_settings.kafka_controller_port),
        "HUB_PG_PORT": str(infra_settings.pg_port),
    }
    argv = [sys.executable, "-m", "bench.run", "--smoke", "--use-running-stack"]
    done = subprocess.run(
        [*argv, "--results-dir", str(results)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    report = json.loads((results / "latest.json").read_text())
    assert report["mode"] == "smoke"
    assert report["verified"] is True
    assert len(list(results.glob("2*.json"))) == 1, "a timestamped copy beside latest.json"
    throughput = report["throughput"]
    sent = throughput["events"]
    assert sent == 300
    assert throughput["counts"] == {
        "sent": sent,
        "opened_on_topic": sent,
        "distinct_referrals": sent,
        "routed_on_topic": sent,
        "intake_db": sent,
        "routing_db": sent,
        "casework_db": sent,
        "new_dead_letters": 0,
    }
    [rate] = report["latency"]
    assert rate["verified"]
    assert rate["counts"]["routed_on_topic"] == rate["events"]
    assert report["baseline"]["verified"]
    assert report["raw_read"]["verified"]
    assert report["queue"]["verified"]
    assert report["queue"]["rows"] == 1_000
    assert {"intake", "routing", "casework"} <= set(report["resources"]["peak_rss_mib"])
