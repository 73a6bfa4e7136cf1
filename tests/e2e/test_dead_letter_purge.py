"""hub.dead-letter holds one copy of a refused message however many consumers refused it,
`hub deadletters list` shows it once naming them all, and `hub deadletters purge` removes
its bytes from what a reader of the topic gets (and, once the log cleaner has run, from the
log itself), records who purged it and why, and a purged message is never re-driven."""

import asyncio
import re
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from referral_schemas.topics import DEAD_LETTER

from infra.settings import InfraSettings
from infra.topics import dead_letter_config, durability
from tests.e2e.conftest import Spawn
from tests.e2e.test_dead_letter_replay import deadletters, publish
from tests.support.kafka import Sent
from tests.support.kafka_auth import client_kwargs
from tests.support.waiting import eventually
from tests.unit.test_casework_helpers import routed

pytestmark = pytest.mark.e2e

IDENT = re.compile(r"\b[a-z]+-[0-9]+\b")
REFUSERS = ("intake", "routing", "feedback")
"""Consumers of referral.events started here: each refuses a forged record."""


async def refusals(env: dict[str, str], sent: Sent) -> dict[str, asyncpg.Record]:
    """Each service's dead letter of the record at ``sent``."""
    found = {}
    for service in REFUSERS:
        conn = await asyncpg.connect(env[f"{service.upper()}_DATABASE_URL"])
        try:
            row = await conn.fetchrow(
                """SELECT id, reason, purged_at, purged_by, purge_note FROM dead_letters
                    WHERE source_topic = $1 AND source_partition = $2 AND source_offset = $3""",
                sent.topic,
                sent.partition,
                sent.offset,
            )
        finally:
            await conn.close()
        if row is not None:
            found[service] = row
    return found


async def outboxes_empty(env: dict[str, str]) -> bool:
    for service in REFUSERS:
        conn = await asyncpg.connect(env[f"{service.upper()}_DATABASE_URL"])
        try:
            if await conn.fetchval("SELECT count(*) FROM outbox"):
                return False
        finally:
            await conn.close()
    return True


async def copies(bootstrap: str, key: bytes) -> list[bytes | None]:
    """Every record with ``key`` in the log of hub.dead-letter, tombstones as None."""
    return [value for _, value in await dead_letter_log(bootstrap, key)]


async def dead_letter_log(bootstrap: str, key: bytes) -> list[tuple[int, bytes | None]]:
    """(partition, value) of every record with ``key`` on hub.dead-letter, read from the
    beginning as the operator (the one principal allowed to)."""
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(DEAD_LETTER, p) for p in range(3)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[tuple[int, bytes | None]] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=2000)
            found += [
                (tp.partition, r.value)
                for tp, batch in batches.items()
                for r in batch
                if r.key == key
            ]
        return found
    finally:
        await consumer.stop()


def latest(found: list[bytes | None]) -> bytes | None:
    """What a reader of a compacted topic takes for the key: its last record."""
    return found[-1] if found else None


async def clean_quickly(bootstrap: str, replication: int, *, quick: bool) -> None:
    """Let the log cleaner reach the records in seconds, not within the hour (``quick``), or
    put the topic back as `hub infra up` sets it."""
    config = {**durability(replication), **dead_letter_config(30)}
    if quick:
        config |= {"segment.ms": "500", "max.compaction.lag.ms": "500"}
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, DEAD_LETTER, config)
        for response in await admin.alter_configs([resource]):
            assert [code for code, *_ in response.resources] == [0]
    finally:
        await admin.close()


async def until_cleaned(
    bootstrap: str, key: bytes, partition: int, expect: list[bytes | None]
) -> None:
    """Append a probe (a tombstone of another key) to the partition now and then, so its
    active segment rolls and the cleaner may compact what came before; until the log holds
    ``expect`` for ``key``."""
    producer = AIOKafkaProducer(**client_kwargs(bootstrap), acks="all")
    await producer.start()
    try:

        async def cleaned() -> bool:
            await asyncio.sleep(0.6)
            probe = f"probe/{uuid.uuid4().hex}".encode()
            await producer.send_and_wait(DEAD_LETTER, None, key=probe, partition=partition)
            return await copies(bootstrap, key) == expect

        await eventually(cleaned, "the log cleaner compacted the dead letters", timeout_s=120)
    finally:
        await producer.stop()


async def test_a_message_refused_by_several_consumers_is_kept_once_and_purged_for_good(
    spawn: Spawn, stack_env: dict[str, str], bootstrap: str, infra_settings: InfraSettings
) -> None:
    replication = infra_settings.kafka_replication
    for service in REFUSERS:
        spawn(service, f"{service}-purge")
    forged = routed(uuid.uuid4(), agency="ag-purge")
    sent = await publish(bootstrap, forged, sign=False)
    refused = await eventually(
        lambda: _all_refused(stack_env, sent), "every consumer refused the forgery", timeout_s=120
    )
    await eventually(lambda: outboxes_empty(stack_env), "the copies published")
    key = sent.dead_letter_key
    found = await copies(bootstrap, key)
    assert len(found) == len(REFUSERS), "each refusal published its copy, under one key"
    assert len(set(found)) == 1, "each copy is the refused record, unchanged"

    listing = deadletters("list", "--limit", "10000").stdout
    origin = f"referral.events[{sent.partition}]@{sent.offset} "
    lines = [line for line in listing.splitlines() if origin in line]
    assert len(lines) == 1, listing
    ident = IDENT.findall(lines[0])[0]
    assert ident in {f"{s}-{row['id']}" for s, row in refused.items()}
    assert all(service in lines[0] for service in REFUSERS)

    partition = await _partition_of(bootstrap, key)
    await clean_quickly(bootstrap, replication, quick=True)
    try:
        await until_cleaned(bootstrap, key, partition, found[-1:])  # one copy left

        note = f"forged, holds a name {uuid.uuid4().hex[:6]}"
        done = deadletters("purge", ident, "--note", note)
        assert done.returncode == 0, done.stderr
        assert f"purged {ident}" in done.stdout
        assert latest(await copies(bootstrap, key)) is None, "a reader now finds it gone"
        await until_cleaned(bootstrap, key, partition, [None])  # its bytes gone from the log
    finally:
        await clean_quickly(bootstrap, replication, quick=False)

    after = await refusals(stack_env, sent)
    assert set(after) == set(REFUSERS)
    for row in after.values():
        assert row["purged_at"] is not None
        assert row["purged_by"].startswith("operator:")
        assert row["purge_note"] == note
    listing = deadletters("list", "--limit", "10000").stdout
    [line] = [line for line in listing.splitlines() if f"{ident} " in line]
    assert "by operator:" in line

    again = deadletters("replay", ident, "--note", "try anyway")
    assert again.returncode == 1
    assert "purged" in again.stderr
    assert "never handled again" in again.stderr
    twice = deadletters("purge", ident, "--note", "again")
    assert twice.returncode == 1
    assert "already purged" in twice.stderr


async def test_purging_what_is_not_a_dead_letter_is_explained(stack_env: dict[str, str]) -> None:
    for wrong in ("casework", "nobody-3", "intake-x"):
        said = deadletters("purge", wrong, "--note", "n")
        assert said.returncode == 2
        assert "not a dead letter id" in said.stderr
    missing = deadletters("purge", "intake-999999999", "--note", "n")
    assert missing.returncode == 2
    assert "no dead letter 999999999" in missing.stderr
    blank = deadletters("purge", "intake-1", "--note", "   ")
    assert blank.returncode == 2
    assert "--note must say why" in blank.stderr


async def _all_refused(env: dict[str, str], sent: Sent) -> dict[str, asyncpg.Record] | None:
    found = await refusals(env, sent)
    return found if set(found) == set(REFUSERS) else None


async def _partition_of(bootstrap: str, key: bytes) -> int:
    [partition] = {p for p, _ in await dead_letter_log(bootstrap, key)}
    return partition
