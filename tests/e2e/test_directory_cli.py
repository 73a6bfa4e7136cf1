"""`hub directory load` and `hub directory show` against the real broker, run as a user does.

Directory versions are global on the shared ``hub.directory`` topic (other runs load too), so
the tests compare versions with each other, never with a fixed number.
"""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from referral_schemas.topics import DIRECTORY

from tests.support.kafka_auth import client_kwargs

pytestmark = pytest.mark.e2e
DEMO = Path(__file__).resolve().parents[2] / "infra" / "directory" / "cumbria.yaml"
DIRECTORY_CLI = "from services.hub.directory_commands import directory_app; directory_app()"


def directory(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DIRECTORY_CLI, *args],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def ok(*args: str) -> str:
    done = directory(*args)
    assert done.returncode == 0, f"directory {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def shown_version(show_output: str) -> int:
    found = re.search(r"Directory version (\d+),", show_output)
    assert found, show_output
    return int(found.group(1))


async def _end_offset(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(DIRECTORY, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


def end_offset(bootstrap: str) -> int:
    return asyncio.run(_end_offset(bootstrap))


@pytest.fixture
def variant(tmp_path: Path) -> Path:
    """The demo with one change, so loading the demo after it always publishes."""
    path = tmp_path / "variant.yaml"
    path.write_text(DEMO.read_text(encoding="utf-8").replace("capacity: 40", "capacity: 41"))
    return path


def test_loading_the_demo_publishes_a_new_version_that_show_prints(
    bootstrap: str, variant: Path
) -> None:
    ok("load", str(variant))
    before = shown_version(ok("show"))
    loaded = ok("load", str(DEMO))
    published = re.search(r"Published directory version (\d+)", loaded)
    assert published, loaded
    assert int(published.group(1)) == before + 1
    assert f"Compared with version {before} in force:" in loaded
    assert "agency twc-barrow: changed (capacity 41 -> 40)" in loaded
    shown = ok("show")
    assert shown_version(shown) == before + 1
    rows = {line.split("│")[1].strip(): line for line in shown.splitlines() if "│" in line}
    assert "LA13, LA14" in rows["barrow"]
    assert "LA8, LA9" in rows["kendal"]
    assert "CA1, CA2, CA3" in rows["carlisle"]
    carlisle_team = rows["twc-carlisle"]
    assert "The Well Communities — Carlisle team" in carlisle_team
    assert "vulnerability_visit" in carlisle_team
    assert "PT48H" in carlisle_team
    assert "barrow, kendal" in rows["cumbria-recovery-south"]
    assert "PT72H" in rows["cumbria-recovery-south"]


def test_loading_the_version_in_force_again_publishes_nothing(bootstrap: str) -> None:
    ok("load", str(DEMO))
    version = shown_version(ok("show"))
    end = end_offset(bootstrap)
    again = ok("load", str(DEMO))
    assert f"identical to version {version} in force; nothing published" in again
    assert end_offset(bootstrap) == end
    assert shown_version(ok("show")) == version


def test_an_invalid_file_is_refused_with_its_lines_and_changes_nothing(
    bootstrap: str, tmp_path: Path
) -> None:
    ok("load", str(DEMO))
    in_force = ok("show")
    end = end_offset(bootstrap)
    bad = tmp_path / "bad.yaml"
    text = (
        DEMO.read_text(encoding="utf-8")
        .replace("PT72H", "three days")
        .replace("areas: [carlisle]", "areas: [carlise]")
    )
    bad.write_text(text)
    lines = text.splitlines()
    deadline_line = next(n for n, line in enumerate(lines, 1) if "three days" in line)
    area_line = next(n for n, line in enumerate(lines, 1) if "[carlise]" in line)

    refused = directory("load", str(bad))

    assert refused.returncode == 2
    assert f"{bad}:{area_line}: agency 'twc-carlisle' names unknown area 'carlise'" in (
        refused.stderr
    )
    assert f"{bad}:{deadline_line}: agencies[2].acceptance_deadline" in refused.stderr
    assert "nothing published" in refused.stderr
    assert end_offset(bootstrap) == end
    assert ok("show") == in_force
