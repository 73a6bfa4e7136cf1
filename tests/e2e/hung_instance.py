"""A hung instance, measured: intake and two routing instances on the real stack, a steady
stream of intelligence, and the routing instance that leads the relay SIGSTOPped for a while.
What comes out is when each referral was routed (the broker's timestamp of its
ReferralRouted), so the longest pause of the pipeline while the instance hung can be read
off. ``tests/e2e/test_hung_instance.py`` asserts on what it saw; run as a script against a
running test stack it prints the pause (docs/reliability.md has the figures):

    HUB_STATE_DIR=... HUB_KAFKA_PORT=... HUB_PG_PORT=... python -m tests.e2e.hung_instance 60
"""

import asyncio
import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import partitions_of
from tests.support.kafka_auth import client_kwargs, stack_env_of
from tests.support.provenance import signed
from tests.support.services import ServiceProcess

Start = Callable[[str, str], ServiceProcess]
"""``start(service, log_name)`` starts one service process."""

PUBLISH_EVERY_S = 0.25


@dataclass
class Timeline:
    """What the referral topic carried, as it arrived."""

    opened: dict[str, str] = field(default_factory=dict)
    """intelligence ref -> referral id"""
    routed_at: dict[str, float] = field(default_factory=dict)
    """referral id -> when its first ReferralRouted was published (broker time, seconds)"""
    routed_ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """referral id -> the ids of its ReferralRouted events (one, unless routed twice)"""
    copies: int = 0
    """ReferralRouted records that repeat an event already seen (dropped by consumers)"""

    def add(self, body: dict[str, Any], timestamp_ms: int) -> None:
        if body.get("type") == "ReferralOpened":
            self.opened[body["data"]["intelligence_ref"]] = body["data"]["referral_id"]
        elif body.get("type") == "ReferralRouted":
            referral = body["subject"]
            if body["id"] in self.routed_ids[referral]:
                self.copies += 1
            self.routed_ids[referral].add(body["id"])
            self.routed_at.setdefault(referral, timestamp_ms / 1000)

    def routed(self, refs: set[str]) -> set[str]:
        """The refs among ``refs`` whose referral was routed."""
        return {ref for ref in refs if self.opened.get(ref) in self.routed_at}

    def longest_pause(self, start: float, end: float) -> float:
        """The longest stretch of [start, end] in which no referral was routed."""
        moments = sorted(t for t in self.routed_at.values() if start <= t <= end)
        edges = [start, *moments, end]
        return max(later - earlier for earlier, later in itertools.pairwise(edges))


@contextlib.asynccontextmanager
async def timeline_of(bootstrap: str) -> AsyncIterator[Timeline]:
    """Read the referral topic from now on into a Timeline, until the block ends."""
    timeline = Timeline()
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await consumer.start()
    parts = [
        TopicPartition(REFERRAL_EVENTS, p) for p in await partitions_of(bootstrap, REFERRAL_EVENTS)
    ]
    consumer.assign(parts)
    for tp, end in (await consumer.end_offsets(parts)).items():
        consumer.seek(tp, end)

    async def read() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    timeline.add(json.loads(r.value), r.timestamp)

    reader = asyncio.create_task(read())
    try:
        yield timeline
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await consumer.stop()


class Stream:
    """Publishes one new piece of intelligence every ``PUBLISH_EVERY_S`` while running."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.sent: dict[str, float] = {}
        """intelligence ref -> when it was sent (wall clock)"""

    async def run(self) -> None:
        producer = AIOKafkaProducer(**client_kwargs(self._bootstrap), acks="all")
        await producer.start()
        try:
            while True:
                message = submitted()
                key, value = key_of(message).encode(), encode(message)
                headers = signed(stack_env_of(self._bootstrap), POLICE_INTELLIGENCE, key, value)
                await producer.send_and_wait(POLICE_INTELLIGENCE, value, key=key, headers=headers)
                self.sent[message["data"]["intelligence_ref"]] = time.time()
                await asyncio.sleep(PUBLISH_EVERY_S)
        finally:
            await producer.stop()

    def since(self, moment: float) -> set[str]:
        return {ref for ref, at in self.sent.items() if at >= moment}


async def wait_until(check: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout_s}s: {what}")
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class HungRun:
    timeline: Timeline
    sent: dict[str, float]
    stopped_at: float
    resumed_at: float
    routed_while_stopped: set[str]
    """refs sent after the SIGSTOP whose referral was routed before the SIGCONT"""

    @property
    def pause_s(self) -> float:
        return self.timeline.longest_pause(self.stopped_at, self.resumed_at)


async def hang_one(
    bootstrap: str,
    instance: ServiceProcess,
    *,
    stop_s: float,
    routed_while_stopped: int = 0,
    timeout_s: float = 180.0,
) -> HungRun:
    """Stream intelligence, SIGSTOP ``instance`` for at least ``stop_s`` (longer, up to
    ``timeout_s``, until ``routed_while_stopped`` referrals sent after the stop are routed),
    SIGCONT it, and wait until everything sent was routed."""
    stream = Stream(bootstrap)
    async with timeline_of(bootstrap) as timeline:
        publishing = asyncio.create_task(stream.run())
        try:
            await asyncio.sleep(5 * PUBLISH_EVERY_S)
            warm = set(stream.sent)
            await wait_until(lambda: timeline.routed(warm) == warm, "warm-up routed", timeout_s)
            stopped_at = time.time()
            instance.suspend()
            try:
                await asyncio.sleep(stop_s)
                await wait_until(
                    lambda: len(timeline.routed(stream.since(stopped_at))) >= routed_while_stopped,
                    f"{routed_while_stopped} referrals sent after the stop routed",
                    timeout_s,
                )
                during = timeline.routed(stream.since(stopped_at))
            finally:
                resumed_at = time.time()
                instance.resume()
        finally:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
        everything = set(stream.sent)
        await wait_until(
            lambda: timeline.routed(everything) == everything, "every referral routed", timeout_s
        )
        await asyncio.sleep(3.0)  # late copies, if any, arrive now
    return HungRun(timeline, dict(stream.sent), stopped_at, resumed_at, during)


async def _main(stop_s: float) -> None:
    from infra import stack
    from infra.settings import InfraSettings
    from tests.e2e.lifecycle_support import directory_in_force

    env = stack.up(InfraSettings())
    logs = Path(tempfile.mkdtemp(prefix="hung-instance-"))
    started: list[ServiceProcess] = []

    def start(name: str, log_name: str) -> ServiceProcess:
        service = ServiceProcess(name, env, logs / f"{log_name}.log")
        started.append(service)
        return service.start()

    try:
        start("intake", "intake")
        leader = start("routing", "routing-1")
        leader.wait_for_log('"outbox_relay_leading"')
        start("routing", "routing-2")
        await directory_in_force(env["HUB_KAFKA_BOOTSTRAP"])
        run = await hang_one(env["HUB_KAFKA_BOOTSTRAP"], leader, stop_s=stop_s)
    finally:
        for service in started:
            service.stop()
    stopped = run.resumed_at - run.stopped_at
    print(f"routing leader stopped for {stopped:.1f} s; logs in {logs}")
    print(f"longest pause without a ReferralRouted while it was stopped: {run.pause_s:.1f} s")
    print(
        f"referrals sent during the stop and routed before SIGCONT: {len(run.routed_while_stopped)}"
    )
    twice = [r for r, ids in run.timeline.routed_ids.items() if len(ids) > 1]
    print(
        f"referrals routed: {len(run.timeline.routed_at)}, routed twice: {len(twice)}, "
        f"repeated records: {run.timeline.copies}"
    )


if __name__ == "__main__":
    asyncio.run(_main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0))
