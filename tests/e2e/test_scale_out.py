"""Scale-out: two instances each of routing and casework in one consumer group share a burst
of 500 referrals; every referral is routed and accepted exactly once, none is lost."""

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.lifecycle_support import Staff, directory_in_force, free_port
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import Record, watch
from tests.support.kafka_auth import client_kwargs, stack_env_of
from tests.support.provenance import signed
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
BURST = 500


async def _publish_burst(bootstrap: str, count: int) -> set[str]:
    messages = [submitted() for _ in range(count)]
    producer = AIOKafkaProducer(**client_kwargs(bootstrap), acks="all", linger_ms=5)
    env = stack_env_of(bootstrap)
    await producer.start()
    try:
        sent = []
        for m in messages:
            key, value = key_of(m).encode(), encode(m)
            headers = signed(env, POLICE_INTELLIGENCE, key, value)
            sent.append(await producer.send(POLICE_INTELLIGENCE, value, key=key, headers=headers))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return {m["data"]["intelligence_ref"] for m in messages}


def _casework(spawn: Spawn, name: str, public_key: Path) -> int:
    port = free_port()
    spawn(
        "casework",
        name,
        CASEWORK_HTTP_PORT=str(port),
        CASEWORK_TOKEN_PUBLIC_KEY_FILE=str(public_key),
    ).wait_for_log('"http_listening"')
    return port


def _handled(process: ServiceProcess) -> int:
    """Records the instance handled, from its per-batch log lines."""
    lines = process.log_path.read_text().splitlines()
    batches = [json.loads(line) for line in lines if '"batch_handled"' in line]
    return sum(int(batch.get("handled", 0)) for batch in batches)


async def test_two_routing_and_two_casework_instances_share_a_burst_without_loss_or_duplicates(
    bootstrap: str, spawn: Spawn, stack_env: dict[str, str], tmp_path: Path
) -> None:
    private_path, public_path = ensure_signing_keys(tmp_path)
    spawn("intake", "burst-intake")
    routers = [spawn("routing", f"burst-routing-{n}") for n in (1, 2)]
    ports = [_casework(spawn, f"burst-casework-{n}", public_path) for n in (1, 2)]
    await directory_in_force(bootstrap)
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        refs = await _publish_burst(bootstrap, BURST)
        opened = await events.wait_for(
            lambda r: (
                r.json()["type"] == "ReferralOpened"
                and r.json()["data"]["intelligence_ref"] in refs
            ),
            count=BURST,
            timeout_s=600,
        )
        rids = {r.json()["data"]["referral_id"] for r in opened}
        routed = await events.wait_for(
            lambda r: r.json()["type"] == "ReferralRouted" and r.json()["subject"] in rids,
            count=BURST,
            timeout_s=600,
        )
        await _all_in_casework(stack_env["CASEWORK_DATABASE_URL"], rids)
        await _accept_all(routed, ports, private_path.read_text())
        await events.wait_for(
            lambda r: r.json()["type"] == "ReferralAccepted" and r.json()["subject"] in rids,
            count=BURST,
            timeout_s=600,
        )
        records = await events.drain(quiet_s=3.0)
    mine = [r.json() for r in records if r.key is not None and r.key.decode() in rids]
    per_referral = Counter((e["subject"], e["type"]) for e in mine)
    assert len(rids) == BURST
    assert set(per_referral.values()) == {1}, "no event published twice"
    assert sorted(Counter(t for _, t in per_referral).items()) == [
        ("ReferralAccepted", BURST),
        ("ReferralAssigned", BURST),  # a worker's accept assigns it to them
        ("ReferralOpened", BURST),
        ("ReferralRouted", BURST),
    ]
    assert len({e["id"] for e in mine}) == len(mine)
    assert all(_handled(router) > 0 for router in routers), "both routing instances took part"


async def _all_in_casework(dsn: str, rids: set[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:

        async def folded() -> bool:
            count = await conn.fetchval(
                """SELECT count(*) FROM referrals
                    WHERE referral_id = ANY($1::uuid[]) AND status = 'awaiting_acceptance'""",
                [uuid.UUID(r) for r in rids],
            )
            return bool(count == len(rids))

        await eventually(folded, "casework folded every routed referral", timeout_s=600)
    finally:
        await conn.close()


async def _accept_all(routed: list[Record], ports: list[int], private_key: str) -> None:
    """Accept each referral as its agency, alternating between the two casework instances."""
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=60) for p in ports]
    try:
        for n, record in enumerate(routed):
            data = record.json()["data"]
            staff = Staff(
                clients[n % 2], private_key, "worker-burst", "support_worker", data["agency"]
            )
            await staff.act(data["referral_id"], "accept")
    finally:
        for client in clients:
            await client.aclose()
