"""Kafka plumbing of the benchmark: a producer like the services' own, a watch on
referral.events that pairs each run's ReferralOpened with its ReferralRouted, and a sampler
of consumer-group lag."""

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.runtime.kafka_clients import MAX_REQUEST_BYTES, make_producer
from tests.support.kafka_auth import access, client_kwargs, stack_env_of
from tests.support.provenance import signed


async def started_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """The services' producer settings (idempotent, acks=all, linger 5 ms)."""
    producer = make_producer(access(bootstrap), client_id)
    await producer.start()
    return producer


async def send_intelligence(
    producer: AIOKafkaProducer, bootstrap: str, value: bytes, key: bytes
) -> "asyncio.Future[Any]":
    """Publish one intelligence message signed by its force's key, as the force would."""
    headers = signed(stack_env_of(bootstrap), POLICE_INTELLIGENCE, key, value)
    future: asyncio.Future[Any] = await producer.send(
        POLICE_INTELLIGENCE, value, key=key, headers=headers
    )
    return future


async def topic_partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]


@dataclass
class Seen:
    """What the watch saw of one run's referrals on referral.events."""

    opened: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """intelligence ref -> referral ids of every ReferralOpened record about it"""
    opened_at_ms: dict[str, int] = field(default_factory=dict)
    routed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """referral id -> timestamps (ms, producer CreateTime) of every ReferralRouted record"""

    def referral_of(self, ref: str) -> str | None:
        ids = self.opened.get(ref)
        return ids[0] if ids else None

    def routed_count(self, refs: Iterable[str]) -> int:
        return sum(1 for ref in refs if (rid := self.referral_of(ref)) and self.routed.get(rid))


class ReferralWatch:
    """Reads referral.events from its end at start; keeps only what concerns ``prefix``."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._mine: set[str] = set()
        self.seen = Seen()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "ReferralWatch":
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._bootstrap),
            enable_auto_commit=False,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        )
        await consumer.start()
        partitions = await topic_partitions(self._bootstrap, REFERRAL_EVENTS)
        consumer.assign(partitions)
        for tp, end in (await consumer.end_offsets(partitions)).items():
            consumer.seek(tp, end)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                for record in records:
                    self._take(record.value or b"", record.timestamp)

    def _take(self, value: bytes, timestamp_ms: int) -> None:
        if b'"ReferralOpened"' not in value and b'"ReferralRouted"' not in value:
            return
        event = json.loads(value)
        if event.get("type") == "ReferralOpened":
            ref = event["data"]["intelligence_ref"]
            if ref.startswith(self._prefix):
                rid = event["data"]["referral_id"]
                self.seen.opened[ref].append(rid)
                self.seen.opened_at_ms.setdefault(ref, timestamp_ms)
                self._mine.add(rid)
        elif event.get("type") == "ReferralRouted" and event.get("subject") in self._mine:
            self.seen.routed[event["subject"]].append(timestamp_ms)

    async def wait_routed(self, refs: list[str], timeout_s: float) -> bool:
        """True once every ref has a ReferralRouted; False after ``timeout_s`` without progress."""
        loop = asyncio.get_running_loop()
        last, last_change = -1, loop.time()
        while True:
            done = self.seen.routed_count(refs)
            if done >= len(refs):
                return True
            if done != last:
                last, last_change = done, loop.time()
            elif loop.time() - last_change > timeout_s:
                return False
            await asyncio.sleep(0.25)

    async def settle(self, quiet_s: float = 2.0) -> None:
        """Give late duplicates a chance to show up before the counts are checked."""
        await asyncio.sleep(quiet_s)


@dataclass
class GroupLag:
    group: str
    topic: str
    peak: int = 0
    last: int = 0


class LagSampler:
    """Samples the lag (end offset - committed offset) of consumer groups every 0.5 s."""

    def __init__(self, bootstrap: str, watched: list[tuple[str, str]]) -> None:
        self._bootstrap = bootstrap
        self.lags = [GroupLag(group, topic) for group, topic in watched]
        self._task: asyncio.Task[None] | None = None

    async def lag_now(self) -> dict[str, int]:
        admin = AIOKafkaAdminClient(**client_kwargs(self._bootstrap))
        consumer = AIOKafkaConsumer(**client_kwargs(self._bootstrap), enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            now: dict[str, int] = {}
            for lag in self.lags:
                now[lag.group] = now.get(lag.group, 0) + await _lag(admin, consumer, lag)
            return now
        finally:
            await consumer.stop()
            await admin.close()

    async def _run(self) -> None:
        admin = AIOKafkaAdminClient(**client_kwargs(self._bootstrap))
        consumer = AIOKafkaConsumer(**client_kwargs(self._bootstrap), enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            while True:
                for lag in self.lags:
                    lag.last = await _lag(admin, consumer, lag)
                    lag.peak = max(lag.peak, lag.last)
                await asyncio.sleep(0.5)
        finally:
            await consumer.stop()
            await admin.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, int]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        peaks: dict[str, int] = {}
        for lag in self.lags:  # a group over several topics: the sum of the per-topic peaks
            peaks[lag.group] = peaks.get(lag.group, 0) + lag.peak
        return peaks

    async def wait_idle(self, timeout_s: float = 300.0) -> None:
        """Until every watched group has caught up (nothing left over from a previous phase)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while any((await self.lag_now()).values()) and loop.time() < deadline:
            await asyncio.sleep(0.5)


async def _lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, lag: GroupLag) -> int:
    partitions = await topic_partitions_cached(admin, lag.topic)
    committed = await admin.list_consumer_group_offsets(lag.group, partitions=partitions)
    ends = await consumer.end_offsets(partitions)
    total = 0
    for tp in partitions:
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        total += max(0, ends[tp] - done)
    return total


_PARTITIONS: dict[str, list[TopicPartition]] = {}


async def topic_partitions_cached(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition]:
    if topic not in _PARTITIONS:
        described = await admin.describe_topics([topic])
        _PARTITIONS[topic] = [
            TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]
        ]
    return _PARTITIONS[topic]
