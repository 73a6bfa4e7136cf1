"""Detached background processes with pid files: the local servers and the service processes.

A process started here outlives the command that started it (its own session, so a Ctrl-C in
the terminal does not reach it) and is found again through ``<state_dir>/run/<name>.pid``.
The pid file also records the kernel start time of the process, so a pid reused by an
unrelated program after a crash or reboot is never mistaken for ours, let alone signalled.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from infra import InfraError
from infra.settings import InfraSettings


def run_dir(state_dir: Path | None = None) -> Path:
    """The folder holding pid files of one stack."""
    root = state_dir if state_dir is not None else InfraSettings().root
    return root / "run"


def pid_path(name: str, state_dir: Path | None = None) -> Path:
    """Where the pid file of process ``name`` lives."""
    return run_dir(state_dir) / f"{name}.pid"


def _start_ticks(pid: int) -> str | None:
    """Kernel start time of ``pid`` (field 22 of /proc/<pid>/stat); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a killed child not yet reaped is dead)."""
    return _start_ticks(pid) is not None


def require_free_port(port: int, host: str = "127.0.0.1", what: str = "server") -> None:
    """Fail fast and clearly when another program holds ``port``; a server that dies on bind
    is otherwise only explained deep in its own log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        try:
            probe.bind((host, port))
        except OSError as err:
            raise InfraError(f"{what} cannot listen on {host}:{port}: {err.strerror}") from err


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _record(name: str, state_dir: Path | None) -> tuple[int, str] | None:
    """(pid, start ticks) from the pid file, if that very process is still alive."""
    try:
        fields = pid_path(name, state_dir).read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or not fields[0].isdigit():
        return None
    pid = int(fields[0])
    _reap(pid)
    return (pid, fields[1]) if _start_ticks(pid) == fields[1] else None


def read_pid(name: str, state_dir: Path | None = None) -> int | None:
    """The pid of process ``name`` if it is still the process we started, else None."""
    record = _record(name, state_dir)
    return record[0] if record is not None else None


def is_running(name: str, state_dir: Path | None = None) -> bool:
    """True while the process recorded under ``name`` is alive."""
    return read_pid(name, state_dir) is not None


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached, stdout and stderr appended to ``log_path``; returns its pid.

    Raises InfraError if a process of that name is already running: starting twice would
    leave two servers fighting over one port and one data folder.
    """
    if (pid := read_pid(name, state_dir)) is not None:
        raise InfraError(f"{name} is already running (pid {pid})")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_file = pid_path(name, state_dir)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"--- {datetime.now(UTC).isoformat()} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o077,  # whatever it writes (Kafka's segments, logs) is its owner's alone
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    ticks = _start_ticks(proc.pid)
    if ticks is None:
        raise InfraError(f"{name} exited immediately, see {log_path}")
    pid_file.write_text(f"{proc.pid}\n{ticks}\n")
    return proc.pid


def restrict_tree(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root`` (data an earlier version left readable)."""
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        # A running broker deletes and renames segments meanwhile: gone is fine.
        with contextlib.suppress(FileNotFoundError):
            base.chmod(0o700)
        for name in files:
            path = base / name
            with contextlib.suppress(FileNotFoundError):
                if not path.is_symlink():
                    path.chmod(0o600)
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal the whole process group (children of a service die with it), else the pid."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pid: int, ticks: str, timeout: float) -> bool:
    """Wait until ``pid`` (started at ``ticks``) has exited; True if it did in time."""
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if _start_ticks(pid) != ticks:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def stop(name: str, timeout: float = 30.0, state_dir: Path | None = None) -> bool:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. False if it was not running."""
    record = _record(name, state_dir)
    if record is None:
        pid_path(name, state_dir).unlink(missing_ok=True)
        return False
    pid, ticks = record
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, ticks, timeout):
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, ticks, 10.0):
            raise InfraError(f"{name} (pid {pid}) survived SIGKILL")
    pid_path(name, state_dir).unlink(missing_ok=True)
    return True


def kill(name: str, state_dir: Path | None = None) -> bool:
    """SIGKILL without warning, to simulate a crash; the pid file stays like after a crash.

    Returns False if the process was not running.
    """
    record = _record(name, state_dir)
    if record is None:
        return False
    pid, ticks = record
    _signal(pid, signal.SIGKILL)
    if not _wait_gone(pid, ticks, 10.0):
        raise InfraError(f"{name} (pid {pid}) survived SIGKILL")
    return True
