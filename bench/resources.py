"""Peak memory and CPU seconds of each process of the system (psutil).

Services and the broker are single processes: their peak RSS is the kernel's own high-water
mark (VmHWM), exact. PostgreSQL is a postmaster plus one backend per connection: its figure
is the sampled sum of private memory (RSS minus shared pages, so shared buffers count once
at most) and the CPU of the whole tree.
"""

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.system import System, component_pids


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _cpu_s(procs: list[psutil.Process]) -> float:
    """CPU of the processes, plus that of their children that have exited (PostgreSQL
    backends come and go: without this, a backend's work vanishes when it exits)."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _private_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            mem = proc.memory_info()
            total += mem.rss - getattr(mem, "shared", 0)
    return total / (1024 * 1024)


@dataclass
class Resources:
    pids: dict[str, int]
    peak_mb: dict[str, float] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, system: System) -> "Resources":
        return cls(component_pids(system) | {"bench": os.getpid()})

    def _processes(self, name: str) -> list[psutil.Process]:
        pid = self.pids.get(name)
        if pid is None:
            return []
        if name == "postgres":
            return _tree(pid)
        try:
            return [psutil.Process(pid)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) so far, per component."""
        return {name: round(_cpu_s(self._processes(name)), 2) for name in self.pids}

    def sample(self) -> None:
        for name, pid in self.pids.items():
            if name == "postgres":
                now = _private_mb(self._processes(name))
            else:
                now = _vm_hwm_mb(pid) or 0.0
            self.peak_mb[name] = round(max(self.peak_mb.get(name, 0.0), now), 1)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}
