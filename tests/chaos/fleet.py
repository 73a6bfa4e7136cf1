"""Two instances each of intake, routing and casework, as separate processes (one consumer
group per service, partitions shared), which the faults kill, freeze and restart."""

from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil

from tests.e2e.lifecycle_support import free_port
from tests.support.services import ServiceProcess

SERVICES = ("intake", "routing", "casework")
INSTANCES = (1, 2)


@dataclass
class Fleet:
    env: dict[str, str]
    logs: Path
    instances: dict[str, ServiceProcess] = field(default_factory=dict)
    http_ports: dict[str, int] = field(default_factory=dict)

    def start_all(self) -> None:
        for service in SERVICES:
            for n in INSTANCES:
                self._add(service, n)
                self.start(f"{service}-{n}")

    def _add(self, service: str, n: int) -> None:
        name = f"{service}-{n}"
        extra: dict[str, str] = {}
        if service == "casework":
            self.http_ports[name] = free_port()
            extra["CASEWORK_HTTP_PORT"] = str(self.http_ports[name])
        env = {**self.env, **extra}
        self.instances[name] = ServiceProcess(service, env, self.logs / f"{name}.log")

    def start(self, name: str) -> None:
        """Start ``name`` and wait until it consumes (and, for casework, serves HTTP)."""
        instance = self.instances[name]
        instance.start()
        if instance.name == "casework":
            instance.wait_for_log('"http_listening"')

    def kill(self, name: str) -> None:
        self.instances[name].kill()

    def restart(self, name: str) -> None:
        """Graceful: SIGTERM, wait for the exit, start again."""
        self.instances[name].stop()
        self.start(name)

    def names(self, service: str) -> list[str]:
        return [f"{service}-{n}" for n in INSTANCES]

    def casework_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.http_ports.values()]

    def stop_all(self) -> None:
        for instance in self.instances.values():
            instance.stop()

    async def relay_leader(self, service: str) -> str:
        """The instance whose outbox relay holds its leader lock (else instance 1): freezing it
        is the worst case, as nothing of that service is published while it is frozen."""
        port = await _relay_lock_client_port(self.env[f"{service.upper()}_DATABASE_URL"], service)
        for name in self.names(service):
            pid = self.instances[name].pid
            if port is not None and pid is not None and _holds_local_port(pid, port):
                return name
        return f"{service}-1"


async def _relay_lock_client_port(dsn: str, schema: str) -> int | None:
    """TCP port of the connection holding ``outbox-relay/<schema>`` (a bigint advisory lock:
    pg_locks shows its high and low 32 bits as classid and objid)."""
    conn = await asyncpg.connect(dsn)
    try:
        port = await conn.fetchval(
            """WITH k AS (SELECT hashtext($1)::bigint AS key)
               SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a USING (pid), k
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.classid::bigint = (k.key >> 32) & 4294967295
                  AND l.objid::bigint = k.key & 4294967295""",
            f"outbox-relay/{schema}",
        )
        return int(port) if port is not None else None
    finally:
        await conn.close()


def _holds_local_port(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.laddr and c.laddr.port == port for c in connections)
