"""A crash at any point loses nothing and duplicates nothing.

The crash is a real SIGKILL of the intake process, held at the chosen point by real locks
(no fault-injection code in the service): the relay's lease, held by the test, keeps events
in the outbox after the commit; a table lock holds the handler's transaction open before it.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import (
    any_about,
    event_about,
    hold_relay_lease,
    release_relay_lease,
    wait_outbox_empty,
)
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import send, wait_committed, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
Spawn = Callable[[str, str], ServiceProcess]


async def _wait_for_blocked_handler(conn: asyncpg.Connection, timeout_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        # Inside a transaction the activity view is a snapshot unless cleared.
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await conn.fetchval(
            """SELECT count(*) FROM pg_stat_activity
                WHERE usename = current_user AND pid <> pg_backend_pid()
                  AND wait_event_type = 'Lock' AND query ILIKE '%intelligence%'"""
        )
        if waiting:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("intake never reached the locked table")


async def _kill_while_handling(
    bootstrap: str,
    blocker: asyncpg.Connection,
    intake: ServiceProcess,
    messages: list[dict[str, Any]],
) -> None:
    """Send the messages while ``blocker`` locks intake's intelligence table, so intake's
    transaction is open and waiting when it is SIGKILLed; then release the lock."""
    lock = blocker.transaction()
    await lock.start()
    await blocker.execute("LOCK TABLE intelligence IN ACCESS EXCLUSIVE MODE")
    for message in messages:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    await _wait_for_blocked_handler(blocker)
    intake.kill()
    await lock.rollback()


async def test_crash_after_commit_before_publish_publishes_exactly_once_on_restart(
    bootstrap: str, stack_env: dict[str, str], spawn: Spawn
) -> None:
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    holder = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    try:
        # Hold the relay's lease: intake commits, but cannot publish.
        await hold_relay_lease(holder, "intake")
        first = spawn("intake", "intake-crash-1a")
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            sent = await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
            await wait_committed(bootstrap, "intake", sent[0])
            assert await holder.fetchval("SELECT count(*) FROM outbox") >= 1
            assert (
                await holder.fetchval(
                    "SELECT count(*) FROM intelligence WHERE intelligence_ref = $1", ref
                )
                == 1
            )
            first.kill()
            assert not [r for r in await events.drain(quiet_s=1.0) if any_about(ref)(r)]
            await release_relay_lease(holder)
            spawn("intake", "intake-crash-1b")
            await events.wait_for(event_about("ReferralOpened", ref))
            await wait_outbox_empty(holder)
            about_it = [r for r in await events.drain() if any_about(ref)(r)]
    finally:
        await holder.close()
    assert [r.json()["type"] for r in about_it] == ["ReferralOpened"]


async def test_crash_before_commit_processes_the_message_on_restart(
    bootstrap: str, stack_env: dict[str, str], spawn: Spawn
) -> None:
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    first = spawn("intake", "intake-crash-2a")
    blocker = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    try:
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            # Killed mid-transaction: inbox claimed, nothing committed.
            await _kill_while_handling(bootstrap, blocker, first, [message])
            assert (
                await blocker.fetchval(
                    "SELECT count(*) FROM intelligence WHERE intelligence_ref = $1", ref
                )
                == 0
            )
            spawn("intake", "intake-crash-2b")
            await events.wait_for(event_about("ReferralOpened", ref))
            await wait_outbox_empty(blocker)
            about_it = [r for r in await events.drain() if any_about(ref)(r)]
    finally:
        await blocker.close()
    assert [r.json()["type"] for r in about_it] == ["ReferralOpened"]
    assert await _count_intelligence(stack_env, ref) == 1


async def _count_intelligence(stack_env: dict[str, str], ref: str) -> int:
    conn = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM intelligence WHERE intelligence_ref = $1", ref
            )
        )
    finally:
        await conn.close()


async def test_crash_in_the_middle_of_a_batch_opens_each_referral_once_on_restart(
    bootstrap: str, stack_env: dict[str, str], spawn: Spawn
) -> None:
    messages = [submitted() for _ in range(30)]
    refs = {m["data"]["intelligence_ref"] for m in messages}
    first = spawn("intake", "intake-crash-3a")
    blocker = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    try:
        async with watch(bootstrap, REFERRAL_EVENTS) as events:
            # Killed with a batch's transaction open, holding its inbox claims.
            await _kill_while_handling(bootstrap, blocker, first, messages)
            spawn("intake", "intake-crash-3b")
            opened = await events.wait_for(
                lambda r: (
                    r.json()["type"] == "ReferralOpened"
                    and r.json()["data"]["intelligence_ref"] in refs
                ),
                count=len(refs),
            )
            await wait_outbox_empty(blocker)
            about_them = [r for r in await events.drain() if any(any_about(x)(r) for x in refs)]
    finally:
        await blocker.close()
    assert sorted(r.json()["data"]["intelligence_ref"] for r in opened) == sorted(refs)
    assert len(about_them) == len(refs), "each referral opened once, nothing else published"
    assert [await _count_intelligence(stack_env, ref) for ref in refs] == [1] * len(refs)
