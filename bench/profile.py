"""Optional py-spy sampling of service processes during the throughput phase
(``--profile routing``): collapsed stacks in the results dir and the top frames in the JSON.
py-spy is a tool, not a dependency: ``.venv/bin/pip install py-spy``."""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/services/", "/schemas/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def summarise(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """Self time and inclusive time of the hottest functions, in % of active samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def pct(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "self_pct": pct(own), "inclusive_pct": pct(inclusive)}


class Profiler:
    def __init__(self, pids: dict[str, int], out_dir: Path, stamp: str) -> None:
        self._pids = pids
        self._out = out_dir
        self._stamp = stamp
        self._running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self) -> list[str]:
        tool = py_spy()
        if tool is None or not self._pids:
            return ["py-spy not found; install it with .venv/bin/pip install py-spy"]
        self._out.mkdir(parents=True, exist_ok=True)
        for name, pid in self._pids.items():
            path = self._out / f"profile-{self._stamp}-{name}.txt"
            argv = [tool, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
            argv += ["--output", str(path), "--nonblocking"]
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._running[name] = (process, path)
        return []

    def stop(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, (process, path) in self._running.items():
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            if path.is_file():
                found[name] = {"file": str(path), **summarise(path)}
        return found
