"""Everything the chaos suite sees happen on ``referral.events``, read from offset 0 by one
consumer for the whole run: every ReferralOpened, ReferralRouted and ReferralAccepted of
the suite's intelligence, with its Kafka timestamp (CreateTime, set by the publishing relay
on this machine's clock, the same clock the load generator stamps its sends with)."""

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from referral_schemas.topics import REFERRAL_EVENTS

from services.runtime.kafka_clients import MAX_REQUEST_BYTES
from tests.support.kafka import partitions_of
from tests.support.kafka_auth import client_kwargs

PREFIX = "CHAOS/"
WANTED = (b'"ReferralOpened"', b'"ReferralRouted"', b'"ReferralAccepted"')


@dataclass(frozen=True)
class Routed:
    referral_id: str
    agency: str


@dataclass
class Seen:
    """Every record, copies included: the relay publishes at least once, so a crash between
    publishing and deleting its outbox rows publishes the same event (same id) again, which
    consumers drop by id. A second *effect* is a second event id (or referral)."""

    opened: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """intelligence ref -> referral id of each ReferralOpened record about it"""
    routed: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """referral id -> time of each ReferralRouted record"""
    accepted: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """referral id -> time of each ReferralAccepted record"""
    event_ids: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    """(type, referral id) -> the distinct event ids of its records"""


class Recorder:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.seen = Seen()
        self.to_accept: asyncio.Queue[Routed] = asyncio.Queue()
        self._mine: set[str] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **client_kwargs(self._bootstrap),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        )
        await self._consumer.start()
        partitions = await partitions_of(self._bootstrap, REFERRAL_EVENTS)
        assigned = [TopicPartition(REFERRAL_EVENTS, p) for p in partitions]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
                for record in records:
                    self._take(record.value or b"", record.timestamp / 1000)

    def _take(self, value: bytes, at: float) -> None:
        if not any(kind in value for kind in WANTED):
            return
        event = json.loads(value)
        kind, data = event.get("type"), event.get("data", {})
        if kind == "ReferralOpened" and str(data.get("intelligence_ref")).startswith(PREFIX):
            self.seen.opened[data["intelligence_ref"]].append(data["referral_id"])
            self._mine.add(data["referral_id"])
            self._count(kind, data["referral_id"], event["id"])
        elif event.get("subject") in self._mine:
            rid = event["subject"]
            self._count(kind, rid, event["id"])
            if kind == "ReferralRouted":
                self.seen.routed[rid].append(at)
                self.to_accept.put_nowait(Routed(rid, data["agency"]))
            elif kind == "ReferralAccepted":
                self.seen.accepted[rid].append(at)

    def _count(self, kind: str, rid: str, event_id: str) -> None:
        self.seen.event_ids[(kind, rid)].add(event_id)

    def referral_of(self, ref: str) -> str | None:
        ids = self.seen.opened.get(ref)
        return ids[0] if ids else None

    def accepted_count(self, refs: list[str]) -> int:
        return sum(
            1 for ref in refs if (rid := self.referral_of(ref)) and self.seen.accepted.get(rid)
        )

    async def wait_accepted(self, refs: list[str], stall_s: float) -> bool:
        """True once every ref's referral is accepted; False after ``stall_s`` without progress
        (a lost referral must not hang the suite)."""
        loop = asyncio.get_running_loop()
        last, since = -1, loop.time()
        while True:
            done = self.accepted_count(refs)
            if done >= len(refs):
                return True
            if done != last:
                last, since = done, loop.time()
            elif loop.time() - since > stall_s:
                return False
            await asyncio.sleep(0.25)
