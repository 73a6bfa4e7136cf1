"""Each figure's own correctness: every intelligence of a phase opened exactly one referral,
routed exactly once, and the databases agree (counts from the topics and the databases).
A figure whose check finds a problem is not reported."""

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from bench.kafka_io import Seen
from bench.system import SERVICES, System


@dataclass
class Verdict:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def dead_letters(system: System) -> dict[str, int]:
    counts = {}
    for service in SERVICES:
        conn = await asyncpg.connect(system.dsn(service))
        try:
            counts[service] = int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
        finally:
            await conn.close()
    return counts


def _topic_counts(refs: list[str], seen: Seen, verdict: Verdict) -> list[str]:
    opened = Counter(len(seen.opened.get(ref, [])) for ref in refs)
    rids = [ids[0] for ref in refs if (ids := seen.opened.get(ref))]
    routed = Counter(len(seen.routed.get(rid, [])) for rid in rids)
    verdict.counts.update(
        sent=len(refs),
        opened_on_topic=sum(len(seen.opened.get(ref, [])) for ref in refs),
        distinct_referrals=len(set(rids)),
        routed_on_topic=sum(len(seen.routed.get(rid, [])) for rid in rids),
    )
    if opened[0]:
        verdict.problems.append(f"{opened[0]} intelligence never opened a referral (lost)")
    if sum(n for k, n in opened.items() if k > 1):
        verdict.problems.append("some intelligence has more than one ReferralOpened (duplicated)")
    if len(set(rids)) != len(rids):
        verdict.problems.append("two intelligence share one referral (unexpected link)")
    if routed[0]:
        verdict.problems.append(f"{routed[0]} referrals never routed (lost)")
    if sum(n for k, n in routed.items() if k > 1):
        verdict.problems.append("some referral has more than one ReferralRouted (duplicated)")
    return rids


async def _db_count(dsn: str, sql: str, arg: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, arg))
    finally:
        await conn.close()


async def _casework_count(system: System, ids: list[uuid.UUID], timeout_s: float) -> int:
    """casework folds on its own pace: wait (while it progresses) until it has them all."""
    sql = """SELECT count(*) FROM referrals
              WHERE referral_id = ANY($1::uuid[]) AND status = 'awaiting_acceptance'"""
    loop = asyncio.get_running_loop()
    last, since = -1, loop.time()
    while True:
        count = await _db_count(system.dsn("casework"), sql, ids)
        if count >= len(ids) or loop.time() - since > timeout_s:
            return count
        if count != last:
            last, since = count, loop.time()
        await asyncio.sleep(0.5)


async def verify(
    system: System,
    prefix: str,
    refs: list[str],
    seen: Seen,
    dead_before: dict[str, int],
    timeout_s: float = 120.0,
) -> Verdict:
    verdict = Verdict()
    rids = _topic_counts(refs, seen, verdict)
    ids = [uuid.UUID(r) for r in rids]
    n = len(refs)
    intake = await _db_count(
        system.dsn("intake"),
        "SELECT count(DISTINCT referral_id) FROM intelligence WHERE intelligence_ref LIKE $1",
        prefix + "%",
    )
    routing = await _db_count(
        system.dsn("routing"),
        """SELECT count(*) FROM referrals
            WHERE referral_id = ANY($1::uuid[]) AND status = 'awaiting_acceptance'""",
        ids,
    )
    casework = await _casework_count(system, ids, timeout_s)
    verdict.counts.update(intake_db=intake, routing_db=routing, casework_db=casework)
    for name, count in (("intake", intake), ("routing", routing), ("casework", casework)):
        if count != n:
            verdict.problems.append(f"{name} database holds {count} of {n} referrals")
    dead_after = await dead_letters(system)
    new_dead = sum(dead_after.values()) - sum(dead_before.values())
    verdict.counts["new_dead_letters"] = new_dead
    if new_dead:
        verdict.problems.append(f"{new_dead} messages were dead-lettered during the phase")
    return verdict
