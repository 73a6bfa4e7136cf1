"""The faults: each is a coroutine that breaks something real (a signal to a real process),
waits, and heals it the way an operator or a supervisor would (restart, SIGCONT). Blocking
steps (a process start waits for its log) run in a thread so the load keeps flowing."""

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from infra import kafka_local, postgres_local, processes
from infra.kafka_config import nodes
from infra.kafka_tools import TOOLS, tool_command
from infra.settings import InfraSettings
from infra.topics import TOPICS
from tests.chaos.fleet import Fleet
from tests.support.kafka_auth import client_kwargs

RESTART_AFTER_S = 3.0
BETWEEN_KILLS_S = 3.0
IN_SYNC_TIMEOUT_S = 120.0


@dataclass
class Chaos:
    """What a fault can reach: the cluster and database of the suite, and the services."""

    settings: InfraSettings
    env: dict[str, str]
    fleet: Fleet

    @property
    def bootstrap(self) -> str:
        return self.env["HUB_KAFKA_BOOTSTRAP"]


Fault = Callable[[Chaos], Awaitable[None]]


async def nothing(chaos: Chaos) -> None:
    """No fault: the figures of the same load on a healthy system, for comparison."""
    await asyncio.sleep(5.0)


def kill_each_instance_of(service: str) -> Fault:
    async def fault(chaos: Chaos) -> None:
        for name in chaos.fleet.names(service):
            chaos.fleet.kill(name)
            await asyncio.sleep(RESTART_AFTER_S)
            await asyncio.to_thread(chaos.fleet.start, name)
            await asyncio.sleep(BETWEEN_KILLS_S)

    return fault


def freeze_relay_leader_of(service: str, seconds: float) -> Fault:
    async def fault(chaos: Chaos) -> None:
        name = await chaos.fleet.relay_leader(service)
        instance = chaos.fleet.instances[name]
        instance.pause()
        try:
            await asyncio.sleep(seconds)
        finally:
            instance.resume()

    return fault


async def rolling_restart(chaos: Chaos) -> None:
    """Every instance in turn: SIGTERM, wait for its exit, start it, wait until it consumes."""
    for name in list(chaos.fleet.instances):
        await asyncio.to_thread(chaos.fleet.restart, name)


async def kill_each_broker_in_turn(chaos: Chaos) -> None:
    """SIGKILL one node, restart it after a few seconds, wait until every replica is back in
    sync, then the next: the leaders of its partitions (and perhaps the controller) move."""
    for node in nodes(chaos.settings):
        processes.kill(node.name, chaos.settings.root)
        await asyncio.sleep(RESTART_AFTER_S + 2)
        await asyncio.to_thread(kafka_local.start, chaos.settings)  # until it serves again
        await replicas_in_sync(chaos)
        await asyncio.sleep(BETWEEN_KILLS_S)


async def freeze_quorum_leader(chaos: Chaos) -> None:
    """SIGSTOP the active controller (which also leads a third of the partitions) for 30 s."""
    leader = await quorum_leader(chaos)
    pid = processes.read_pid(f"kafka-{leader}", chaos.settings.root)
    assert pid is not None, f"kafka-{leader} is not running"
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(30.0)
    finally:
        os.kill(pid, signal.SIGCONT)
    await replicas_in_sync(chaos)


async def kill_postgres(chaos: Chaos) -> None:
    """SIGKILL the postmaster (its backends follow), restart it after 5 s."""
    pid = postgres_local.status(chaos.settings).pid
    assert pid is not None, "PostgreSQL is not running"
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(5.0)
    await asyncio.to_thread(postgres_local.start, chaos.settings)


async def quorum_leader(chaos: Chaos) -> int:
    """The node id leading the KRaft quorum, as `hub kafka kafka-metadata-quorum` shows it."""
    argv = tool_command(
        chaos.settings,
        TOOLS["kafka-metadata-quorum"],
        ["describe", "--status"],
        bootstrap=chaos.bootstrap,
        command_config=Path(chaos.env["HUB_KAFKA_COMMAND_CONFIG"]),
    )
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await proc.communicate()
    found = re.search(rb"LeaderId:\s+(\d+)", out)
    assert found, f"no quorum leader in: {out!r}"
    return int(found.group(1))


async def replicas_in_sync(chaos: Chaos) -> None:
    """Wait until every partition of every topic has all three replicas in sync again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_SYNC_TIMEOUT_S
    while loop.time() < deadline:
        admin = AIOKafkaAdminClient(**client_kwargs(chaos.bootstrap), request_timeout_ms=5000)
        try:
            await admin.start()
            described = await admin.describe_topics([spec.name for spec in TOPICS])
            isr = [len(p["isr"]) for topic in described for p in topic["partitions"]]
            if isr and min(isr) == chaos.settings.kafka_replication:
                return
        except KafkaError:  # a node still booting: ask again
            await asyncio.sleep(1.0)
        finally:
            await admin.close()
        await asyncio.sleep(1.0)
    raise AssertionError("replicas did not get back in sync")
