"""Run a service as a real separate process for end-to-end tests."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from infra.stack import service_env


class ServiceProcess:
    """One service instance; its stderr (the JSON log) goes to ``log_path``.

    ``env`` is the stack's env plus the test's extras; the process gets only its own part of
    it, as ``hub up`` gives it (``infra.stack.service_env``).
    """

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    def start(self) -> "ServiceProcess":
        """Start (again, after a kill or stop) and wait until this run says it consumes."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}.main"],
                env=service_env(self.name, self.env),
                stdout=log,
                stderr=log,
            )
        self.wait_for_log('"service_starting"')
        return self

    def wait_for_log(self, text: str, timeout_s: float = 60.0) -> None:
        """Wait until the current run (not an earlier one in the same log) logs ``text``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log_since_start():
                return
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log_tail()}")
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never logged {text}:\n{self.log_tail()}")

    def log_since_start(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    @property
    def pid(self) -> int | None:
        """The process id while it runs (None before the start and after the end)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def pause(self) -> None:
        """SIGSTOP: the process freezes with its connections open (a hung VM, a GC pause)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def suspend(self) -> None:
        """SIGSTOP: the process hangs (as in a long GC pause or stuck I/O), keeping its
        sockets and database sessions open."""
        assert self._proc is not None, "not started"
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: a crash, no cleanup, no graceful shutdown."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=30)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.resume()  # a suspended process would not act on SIGTERM
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
