"""CI must set a machine up exactly as the README's `make test` does for a newcomer: .ci/run
installs nothing of its own, and `make test` runs the one list (infra/prerequisites.sh) first.
Were .ci/run to apt-get a package itself again, CI could pass where `make test` fails."""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CI_RUN = ROOT / ".ci" / "run"
BASH = shutil.which("bash") or "/bin/bash"
PREREQUISITES = "bash infra/prerequisites.sh install"
INSTALLERS = re.compile(r"\b(apt-get|apt|dpkg|sudo|pip3?|curl|wget|snap|npm|playwright)\b")


def commands(script: Path) -> list[str]:
    """The script's lines that do something (no comments, no blank lines)."""
    lines = (line.split("#", 1)[0].strip() for line in script.read_text().splitlines())
    return [line for line in lines if line]


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_ci_run_installs_nothing_itself_and_ends_with_make_test() -> None:
    lines = commands(CI_RUN)

    assert lines[-1] == "make test"
    for line in lines:
        without_shared_list = line.replace(PREREQUISITES, "")
        assert not INSTALLERS.search(without_shared_list), f".ci/run installs by itself: {line}"


def test_ci_run_runs_make_test_and_nothing_else_when_make_exists(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    for tool in ("dirname", "env"):
        os.symlink(shutil.which(tool) or f"/usr/bin/{tool}", tmp_path / tool)
    stub(tmp_path, "make", f'echo "make $*" >> {calls}')
    stub(tmp_path, "apt-get", f'echo "apt-get $*" >> {calls}')

    result = subprocess.run(
        [BASH, str(CI_RUN)], env={"PATH": str(tmp_path)}, capture_output=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["make test"]


def test_make_test_installs_the_prerequisites_before_anything_else() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    first = dry_run.stdout.splitlines()[0]
    assert first.endswith(PREREQUISITES)  # the whole list: no packages named, none left out
