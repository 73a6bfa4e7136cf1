"""infra/prerequisites.sh, the one list of system packages: it names exactly what a machine
lacks, installs it with apt-get as root or through sudo, and otherwise says which command to
run. Each case runs the real script on a PATH of our own making (bash's own tools plus stubs),
so the machine's java, mvn, make and sudo are hidden and apt-get is never really run."""

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "prerequisites.sh"
BASH = shutil.which("bash") or "/bin/bash"
VENV_PACKAGE = f"python{sys.version_info[0]}.{sys.version_info[1]}-venv"
EVERYTHING = ["make", VENV_PACKAGE, "openjdk-17-jre-headless", "maven", "chromium"]


@dataclass
class Machine:
    """A PATH holding only ``env`` and stubs; apt-get and sudo write what they were asked."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def calls(self) -> Path:
        return self.root / "calls.log"

    def stub(self, name: str, body: str) -> Path:
        path = self.bin / name
        path.write_text(f"#!{BASH}\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    def with_tools(self, java_version: str = '"17.0.15" 2025-04-15') -> "Machine":
        self.stub("make", "exit 0")
        self.stub("mvn", "exit 0")
        self.stub("java", f"echo 'openjdk version {java_version}' >&2")
        self.stub("chromium", "exit 0")
        return self

    def run(
        self, mode: str, *, uid: int = 0, ensurepip: bool = True
    ) -> subprocess.CompletedProcess[str]:
        self.stub("id", f'[ "$1" = -u ] && echo {uid}')
        env = {
            "PATH": str(self.bin),
            "PYTHON": sys.executable,
            "HUB_CHROMIUM": str(self.bin / "chromium"),
            "CALLS": str(self.calls),
        }
        if (
            not ensurepip
        ):  # shadow the standard library's ensurepip, as Debian's python3.11 lacks it
            hidden = self.root / "no-ensurepip" / "ensurepip"
            hidden.mkdir(parents=True, exist_ok=True)
            (hidden / "__init__.py").write_text("raise ImportError('python3.X-venv missing')\n")
            env["PYTHONPATH"] = str(hidden.parent)
        return subprocess.run(
            [BASH, str(SCRIPT), mode], env=env, capture_output=True, text=True, check=False
        )

    def apt_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    bare = Machine(tmp_path)
    bare.bin.mkdir()
    os.symlink(shutil.which("env") or "/usr/bin/env", bare.bin / "env")
    bare.stub("apt-get", 'echo "apt-get DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-} $*" >> "$CALLS"')
    return bare


def test_check_on_a_bare_machine_names_every_package_the_project_needs(machine: Machine) -> None:
    result = machine.run("check", ensurepip=False)

    assert result.returncode == 1
    assert result.stdout.split() == EVERYTHING
    assert machine.apt_calls() == []


def test_check_is_silent_and_succeeds_when_nothing_is_missing(machine: Machine) -> None:
    result = machine.with_tools().run("check")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("java_version", "too_old"),
    [
        ('"1.8.0_392"', True),
        ('"11.0.21" 2023-10-17', True),
        ('"17.0.15" 2025-04-15', False),
        ('"21" 2023-09-19', False),
        ('"25.0.1" 2025-10-21', False),
    ],
)
def test_a_java_older_than_17_gets_openjdk_17(
    machine: Machine, java_version: str, too_old: bool
) -> None:
    result = machine.with_tools(java_version).run("check")

    assert result.stdout.split() == (["openjdk-17-jre-headless"] if too_old else [])


def test_java_version_is_read_past_a_picked_up_options_line(machine: Machine) -> None:
    machine.with_tools()
    machine.stub(
        "java",
        "echo 'Picked up JAVA_TOOL_OPTIONS: -Xss1m' >&2; echo 'openjdk version \"1.8.0_392\"' >&2",
    )

    assert machine.run("check").stdout.split() == ["openjdk-17-jre-headless"]


def test_without_root_or_sudo_install_names_the_command_and_installs_nothing(
    machine: Machine,
) -> None:
    result = machine.run("install", uid=1000, ensurepip=False)

    assert result.returncode == 1
    packages = " ".join(EVERYTHING)
    assert f"this machine lacks {packages}; install them as root" in result.stderr
    assert f"apt-get update && apt-get install -y {packages}" in result.stderr
    assert machine.apt_calls() == []


def test_a_sudo_that_would_ask_for_a_password_counts_as_no_sudo(machine: Machine) -> None:
    machine.with_tools()
    (machine.bin / "mvn").unlink()
    machine.stub("sudo", 'echo "sudo $*" >> "$CALLS"; exit 1')

    result = machine.run("install", uid=1000)

    assert result.returncode == 1
    assert "apt-get update && apt-get install -y maven" in result.stderr
    assert machine.apt_calls() == ["sudo -n true"]


def test_as_root_install_updates_once_then_installs_exactly_what_is_missing(
    machine: Machine,
) -> None:
    machine.with_tools()
    (machine.bin / "chromium").unlink()
    (machine.bin / "mvn").unlink()

    result = machine.run("install", uid=0)

    assert machine.apt_calls() == [
        "apt-get DEBIAN_FRONTEND= update -qq",
        "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq maven chromium",
    ]
    # The stub installed nothing, so the script says so instead of claiming success.
    assert result.returncode == 1
    assert "still missing after apt-get: maven chromium" in result.stderr


def test_with_passwordless_sudo_install_goes_through_sudo(machine: Machine) -> None:
    machine.with_tools()
    (machine.bin / "make").unlink()
    machine.stub("sudo", 'echo "sudo $*" >> "$CALLS"; [ "$1" = -n ] && exit 0; exec "$@"')

    machine.run("install", uid=1000)

    assert machine.apt_calls() == [
        "sudo -n true",
        "sudo apt-get update -qq",
        "apt-get DEBIAN_FRONTEND= update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make",
        "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq make",
    ]


def test_an_installed_openjdk_17_that_is_not_the_default_java_is_pointed_out(
    machine: Machine,
) -> None:
    result = machine.with_tools('"11.0.21"').run("install", uid=0)

    assert result.returncode == 1
    assert "still Java 11 after installing openjdk-17-jre-headless" in result.stderr
    assert "update-alternatives --config java" in result.stderr
