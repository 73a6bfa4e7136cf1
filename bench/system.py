"""The system under test: Kafka and PostgreSQL (infra.stack) and intake, routing and
casework as separate processes (infra.processes), on the bench's own state dir."""

import contextlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import DEFAULT_STACK_ENV, Options
from infra import processes, stack
from infra.settings import InfraSettings
from tests.support import kafka_auth

SERVICES = ("intake", "routing", "casework")
"""The services on the path from intelligence to an agency's queue (feedback is not)."""
MARKER = ".bench-owned"


def bench_settings() -> InfraSettings:
    """HUB_* from the environment, else the bench's own defaults (never the dev stack)."""
    for key, value in DEFAULT_STACK_ENV.items():
        os.environ.setdefault(key, value)
    return InfraSettings()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class System:
    settings: InfraSettings
    env: dict[str, str]
    http_port: int
    pids: dict[str, int] = field(default_factory=dict)
    started_stack: bool = False

    @property
    def bootstrap(self) -> str:
        return self.env["HUB_KAFKA_BOOTSTRAP"]

    def dsn(self, service: str) -> str:
        return self.env[f"{service.upper()}_DATABASE_URL"]


def _name(service: str) -> str:
    return f"bench-{service}"


def stop_services(settings: InfraSettings) -> None:
    """Every ``bench-*`` process of this state dir (extra instances and audit included)."""
    for pid_file in sorted(processes.run_dir(settings.root).glob("bench-*.pid")):
        processes.stop(pid_file.stem, 30.0, settings.root)


def _owned(root: Path) -> bool:
    """A dir the bench may wipe: missing, empty, or holding the bench's marker."""
    return not root.exists() or not any(root.iterdir()) or (root / MARKER).exists()


def start_stack(options: Options) -> tuple[InfraSettings, dict[str, str], bool]:
    """Kafka and PostgreSQL up; returns (settings, env, whether this run started them).
    The bench's own Kafka clients then connect as the stack's operator (kafka_auth)."""
    settings, env, started = _start_stack(options)
    kafka_auth.remember(env)
    return settings, env, started


def _start_stack(options: Options) -> tuple[InfraSettings, dict[str, str], bool]:
    settings = bench_settings()
    root = settings.root
    if options.use_running_stack:
        env = stack.load_env(root)
        if not env or not all(c.running for c in stack.status(settings)):
            env = stack.up(settings)
        return settings, env, False
    if options.fresh and not _owned(root):
        raise SystemExit(
            f"{root} exists and was not made by the bench; pass --reuse or pick another "
            "HUB_STATE_DIR (the bench wipes only its own state dir)"
        )
    stop_services(settings)
    if options.fresh:
        stack.down(settings)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        (root / MARKER).write_text("made by `python -m bench.run`; wiped by each fresh run\n")
    was_up = all(c.running for c in stack.status(settings))
    return settings, stack.up(settings), not was_up


def _ready(root: Path, name: str, log: tuple[Path, int], quiet: bool, port: int | None) -> None:
    """Until the process logs that it consumes, or (casework) its API accepts connections.
    A service told to log only warnings says nothing at start: then alive for 3 s will do
    (the warm-up proves the whole path before anything is timed)."""
    path, offset = log
    deadline = time.monotonic() + 90
    settle = time.monotonic() + 3
    while time.monotonic() < deadline:
        if not processes.is_running(name, root):
            raise RuntimeError(f"{name} exited at start; see {path}")
        if port is not None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
        elif quiet:
            if time.monotonic() > settle:
                return
        elif path.exists():
            with path.open("rb") as handle:
                handle.seek(offset)
                if b'"service_starting"' in handle.read():
                    return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready in 90s; see {path}")


def start_service(system: System, service: str, extra: Mapping[str, str], instance: int = 1) -> int:
    """One service process ``bench-<service>[-n]``; returns once it consumes (or serves)."""
    settings = system.settings
    label = service if instance == 1 else f"{service}-{instance}"
    log_path = settings.root / "logs" / f"bench-{label}.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    pid = processes.start(
        _name(label),
        [sys.executable, "-m", f"services.{service}.main"],
        log_path=log_path,
        state_dir=settings.root,
        env={**stack.service_env(service, system.env), **extra},
    )
    system.pids[label] = pid
    level = {**os.environ, **extra}.get(f"{service.upper()}_LOG_LEVEL", "INFO").upper()
    port = int(extra["CASEWORK_HTTP_PORT"]) if service == "casework" else None
    quiet = level not in ("DEBUG", "INFO")
    _ready(settings.root, _name(label), (log_path, offset), quiet, port)
    return pid


def stop_service(system: System, service: str) -> None:
    processes.stop(_name(service), 30.0, system.settings.root)
    system.pids.pop(service, None)


def start_services(settings: InfraSettings, env: dict[str, str], options: Options) -> System:
    """Start intake, routing and casework (stopping leftovers of an earlier run first);
    ``options.instances`` more than one of a service: one consumer group, shared partitions."""
    stop_services(settings)
    system = System(settings, env, free_port())
    for service in SERVICES:
        for n in range(1, options.instances.get(service, 1) + 1):
            port = system.http_port if n == 1 else free_port()
            extra = {"CASEWORK_HTTP_PORT": str(port), **options.service_env}
            start_service(system, service, extra, n)
    return system


def component_pids(system: System) -> dict[str, int]:
    """Services, the broker and the PostgreSQL postmaster, by name."""
    pids = dict(system.pids)
    for component in stack.status(system.settings):
        if component.pid is not None:
            pids[component.name] = component.pid
    return pids


def shutdown(system: System | None, settings: InfraSettings, options: Options) -> None:
    stop_services(settings)
    if system is not None and system.started_stack and not options.keep_running:
        stack.down(settings)
