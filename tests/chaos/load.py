"""The load of a scenario: a force's system publishing intelligence at a steady rate (bounded in
count and time, to 127.0.0.1 only), and staff accepting each referral routed to their agency
through casework's API, retrying on the other instance with the same Idempotency-Key when an
instance fails to answer (as a browser retry or a second click would)."""

import asyncio
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from referral_schemas.topics import POLICE_INTELLIGENCE

from services.runtime.auth import mint_token
from services.runtime.kafka_clients import make_producer
from tests.chaos.recorder import PREFIX, Routed
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka_auth import force_access, stack_env_of
from tests.support.provenance import signed

MAX_PER_SCENARIO = 2000
DELIVERY_DEADLINE_S = 180.0
ACCEPT_DEADLINE_S = 300.0
HTTP_TIMEOUT_S = 5.0
ACCEPTORS = 8


def intelligence_ref(scenario: str, n: int) -> str:
    return f"{PREFIX}{scenario}/{n:05d}"


class Load:
    """Publishes intelligence about new people at ``rate`` per second until told to stop."""

    def __init__(self, bootstrap: str, scenario: str, rate: float) -> None:
        self._bootstrap = bootstrap
        self._scenario = scenario
        self._rate = rate
        self.sent_at: dict[str, float] = {}
        """ref -> when the force's system first tried to publish it"""
        self.undelivered: list[str] = []
        """refs Kafka never acknowledged within the deadline (the force's system would alert)"""

    async def run(self, stop: asyncio.Event) -> None:
        # As Cumbria's sending system: its own principal, allowed to write intelligence only.
        force = force_access(stack_env_of(self._bootstrap), "cumbria")
        producer = make_producer(force, "chaos-load")
        await producer.start()
        deliveries: list[asyncio.Task[None]] = []
        try:
            began = time.time()
            for n in range(MAX_PER_SCENARIO):
                if stop.is_set():
                    break
                await asyncio.sleep(max(0.0, began + n / self._rate - time.time()))
                message = submitted()
                ref = intelligence_ref(self._scenario, n)
                message["data"]["intelligence_ref"] = ref
                message["subject"] = f"cumbria:{ref}"
                self.sent_at[ref] = time.time()
                deliveries.append(asyncio.create_task(self._deliver(producer, ref, message)))
            await asyncio.gather(*deliveries)
        finally:
            await producer.stop()

    async def _deliver(self, producer: AIOKafkaProducer, ref: str, message: dict[str, Any]) -> None:
        """Publish until acknowledged by the in-sync replicas; a resend has the same event id,
        so intake counts it once."""
        deadline = time.monotonic() + DELIVERY_DEADLINE_S
        while True:
            try:
                key, value = key_of(message).encode(), encode(message)
                await producer.send_and_wait(
                    POLICE_INTELLIGENCE,
                    value,
                    key=key,
                    headers=signed(stack_env_of(self._bootstrap), POLICE_INTELLIGENCE, key, value),
                )
                return
            except KafkaError:
                if time.monotonic() > deadline:
                    self.undelivered.append(ref)
                    return
                await asyncio.sleep(1.0)


class Acceptor:
    """Staff of each agency accepting what is routed to them, spread over casework instances."""

    def __init__(self, urls: Iterable[str], private_key: str, queue: asyncio.Queue[Routed]):
        self._clients = [httpx.AsyncClient(base_url=u, timeout=HTTP_TIMEOUT_S) for u in urls]
        self._private_key = private_key
        self._queue = queue
        self._tokens: dict[str, str] = {}
        self._turn = 0
        self._workers: list[asyncio.Task[None]] = []
        self.gave_up: list[str] = []
        self.failed_attempts = 0

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(ACCEPTORS)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for client in self._clients:
            await client.aclose()

    def _token(self, agency: str) -> str:
        if agency not in self._tokens:
            self._tokens[agency] = mint_token(
                self._private_key,
                user=f"chaos-worker-{agency}",
                role="support_worker",
                agency=agency,
                force=None,
                now=datetime.now(UTC),
                lifetime=timedelta(hours=3),
            )
        return self._tokens[agency]

    async def _work(self) -> None:
        while True:
            routed = await self._queue.get()
            await self._accept(routed)

    async def _accept(self, routed: Routed) -> None:
        headers = {
            "Authorization": f"Bearer {self._token(routed.agency)}",
            "Idempotency-Key": f"chaos-accept-{routed.referral_id}",
        }
        deadline = time.monotonic() + ACCEPT_DEADLINE_S
        attempt = 0
        while True:
            self._turn += 1
            client = self._clients[self._turn % len(self._clients)]
            try:
                response = await client.post(
                    f"/referrals/{routed.referral_id}/accept", json={}, headers=headers
                )
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # refused, reset or no answer in time: try the other instance
            # 404 until casework has folded the routing; 5xx while its database is away.
            self.failed_attempts += 1
            attempt += 1
            if time.monotonic() > deadline:
                self.gave_up.append(routed.referral_id)
                return
            await asyncio.sleep(min(2.0, 0.2 * attempt))
