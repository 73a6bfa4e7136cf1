"""One hung instance does not stall its service: with two routing instances in one group,
either one (the one leading the outbox relay, or the other) is SIGSTOPped mid-stream; the
other takes over its relay lease (if it had it) and its partitions, and referrals sent while
it hangs are routed before it resumes.
After SIGCONT nothing is lost and nothing is routed twice (the resumed instance may repeat
records it had in flight; consumers drop those copies by event id)."""

import asyncpg
import pytest

from tests.e2e.conftest import Spawn
from tests.e2e.hung_instance import hang_one
from tests.e2e.lifecycle_support import directory_in_force

pytestmark = pytest.mark.e2e


async def _relay_holder_pid(dsn: str) -> int | None:
    conn = await asyncpg.connect(dsn)
    try:
        holder = await conn.fetchval("SELECT holder FROM relay_lease WHERE expires_at > now()")
    finally:
        await conn.close()
    return int(holder.split("/")[1]) if holder else None


@pytest.mark.parametrize("hung", ["relay leader", "follower"])
async def test_a_hung_routing_instance_does_not_stop_routing(
    bootstrap: str, spawn: Spawn, stack_env: dict[str, str], hung: str
) -> None:
    name = f"hung-{hung.replace(' ', '-')}"  # a log of its own: wait_for_log reads it all
    spawn("intake", f"{name}-intake")
    leader = spawn("routing", f"{name}-routing-1")
    leader.wait_for_log('"outbox_relay_leading"')
    follower = spawn("routing", f"{name}-routing-2")
    await directory_in_force(bootstrap)
    assert await _relay_holder_pid(stack_env["ROUTING_DATABASE_URL"]) == leader.pid

    stopped = leader if hung == "relay leader" else follower
    run = await hang_one(bootstrap, stopped, stop_s=20, routed_while_stopped=10)

    print(f"longest pause without a ReferralRouted while the {hung} hung: {run.pause_s:.1f} s")
    assert len(run.routed_while_stopped) >= 10, "the healthy instance routed while the other hung"
    referrals = {run.timeline.opened[ref] for ref in run.sent}
    assert len(referrals) == len(run.sent), "every piece of intelligence opened one referral"
    assert set(run.timeline.routed_at) >= referrals, "no referral lost"
    assert all(len(run.timeline.routed_ids[r]) == 1 for r in referrals), "none routed twice"
