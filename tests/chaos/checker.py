"""The figures of one scenario, from the topic (what the recorder saw) and the databases.

- lost: intelligence that did not end as exactly one accepted referral (never opened, routed
  or accepted; or a database that does not hold what the topic says happened);
- duplicated: every effect beyond the first (a second referral opened for one intelligence, a
  second ReferralRouted or ReferralAccepted event for one referral), plus any drift of routing's
  per-agency open counts from its referrals (a referral counted twice against capacity). A
  record published again with the same event id (the relay is at-least-once; consumers drop
  the copy by id) is no second effect: such copies are counted apart, as "republished";
- longest pause: the longest time in which no referral completed (was accepted), from the
  first intelligence sent to the last acceptance;
- time to recover: from the fault until the last referral it delayed was accepted (delayed:
  slower than twice the 95th percentile before the fault, and than 3 s); 0 if none was.
"""

import itertools
import statistics
import uuid
from dataclasses import dataclass

import asyncpg

from tests.chaos.recorder import Seen

DELAY_FLOOR_S = 3.0


@dataclass(frozen=True)
class Figures:
    scenario: str
    sent: int
    lost: int
    duplicated: int
    longest_pause_s: float
    recover_s: float
    dead_lettered: int
    detail: str


@dataclass(frozen=True)
class Window:
    """When the load began and when the fault was injected (wall clock, seconds)."""

    began: float
    fault_at: float


async def dead_letter_count(env: dict[str, str]) -> int:
    total = 0
    for service in ("intake", "routing", "casework"):
        total += await _fetch_int(env[f"{service.upper()}_DATABASE_URL"], "dead_letters")
    return total


async def _fetch_int(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


def _extra(counts: list[int]) -> int:
    return sum(max(0, n - 1) for n in counts)


@dataclass(frozen=True)
class Stored:
    """What the databases hold: intake's intelligence refs, casework's accepted referrals,
    and how far routing's per-agency open counts drift from its referrals."""

    intake_refs: set[str]
    accepted_rids: set[str]
    open_count_drift: int


async def _databases(env: dict[str, str], refs: list[str], rids: list[str]) -> Stored:
    intake = await asyncpg.connect(env["INTAKE_DATABASE_URL"])
    casework = await asyncpg.connect(env["CASEWORK_DATABASE_URL"])
    routing = await asyncpg.connect(env["ROUTING_DATABASE_URL"])
    try:
        stored = await intake.fetch(
            "SELECT intelligence_ref FROM intelligence WHERE intelligence_ref = ANY($1::text[])",
            refs,
        )
        accepted = await casework.fetch(
            """SELECT referral_id FROM referrals
                WHERE referral_id = ANY($1::uuid[]) AND status = 'accepted'""",
            [uuid.UUID(r) for r in rids],
        )
        drift = await routing.fetchval(
            """SELECT coalesce(sum(abs(o.open - coalesce(r.n, 0))), 0)
                 FROM agency_open_counts o
                 LEFT JOIN (SELECT agency, count(*) AS n FROM referrals
                             WHERE status IN ('routing', 'accepted') GROUP BY agency) r
                   USING (agency)"""
        )
        return Stored({row[0] for row in stored}, {str(row[0]) for row in accepted}, int(drift))
    finally:
        for conn in (intake, casework, routing):
            await conn.close()


def completions(seen: Seen, opened: dict[str, str]) -> dict[str, float]:
    """ref -> when its referral was first accepted."""
    return {ref: seen.accepted[rid][0] for ref, rid in opened.items() if seen.accepted.get(rid)}


def _pause_and_recovery(
    done: dict[str, float], sent_at: dict[str, float], window: Window
) -> tuple[float, float]:
    if not done:
        return 0.0, 0.0
    times = sorted(done.values())
    marks = [window.began, *times]
    longest = max(b - a for a, b in itertools.pairwise(marks))
    before = [t - sent_at[ref] for ref, t in done.items() if t < window.fault_at]
    normal = statistics.quantiles(before, n=20)[-1] if len(before) >= 2 else 0.0
    bound = max(DELAY_FLOOR_S, 2 * normal)
    delayed = [t for ref, t in done.items() if t - sent_at[ref] > bound]
    recover = max(0.0, max(delayed) - window.fault_at) if delayed else 0.0
    return longest, recover


async def figures(
    scenario: str,
    seen: Seen,
    sent_at: dict[str, float],
    window: Window,
    env: dict[str, str],
    dead_before: int,
) -> Figures:
    refs = sorted(sent_at)
    opened = {ref: seen.opened[ref][0] for ref in refs if seen.opened.get(ref)}
    rids = list(opened.values())
    not_opened = len(refs) - len(opened)
    not_routed = sum(1 for rid in rids if not seen.routed.get(rid))
    not_accepted = sum(1 for rid in rids if not seen.accepted.get(rid))
    stored = await _databases(env, refs, rids)
    ids = seen.event_ids
    duplicated = (
        _extra([len(set(seen.opened.get(ref, []))) for ref in refs])
        + _extra([len(ids.get(("ReferralRouted", rid), ())) for rid in rids])
        + _extra([len(ids.get(("ReferralAccepted", rid), ())) for rid in rids])
        + stored.open_count_drift
    )
    records = sum(
        len(seen.opened.get(ref, []))
        + len(seen.routed.get(rid, []))
        + len(seen.accepted.get(rid, []))
        for ref, rid in opened.items()
    )
    distinct = sum(
        len(ids.get((kind, rid), ()))
        for rid in rids
        for kind in ("ReferralOpened", "ReferralRouted", "ReferralAccepted")
    )
    complete = {
        ref
        for ref, rid in opened.items()
        if seen.accepted.get(rid) and ref in stored.intake_refs and rid in stored.accepted_rids
    }
    lost = len(refs) - len(complete)
    missing_intake = len(refs) - len(stored.intake_refs)
    missing_casework = len(rids) - len(stored.accepted_rids)
    drift = stored.open_count_drift
    done = completions(seen, opened)
    longest, recover = _pause_and_recovery(done, sent_at, window)
    latencies = sorted(t - sent_at[ref] for ref, t in done.items())
    if latencies:
        p50, worst = statistics.median(latencies), latencies[-1]
        detail_latency = f"latency p50 {p50:.2f} s, max {worst:.1f} s; "
    else:
        detail_latency = ""
    detail = detail_latency + (
        f"not opened {not_opened}, not routed {not_routed}, not accepted {not_accepted}, "
        f"intake rows missing {missing_intake}, casework acceptances missing "
        f"{missing_casework}, routing open-count drift {drift}, "
        f"republished copies (same event id) {records - distinct}"
    )
    dead = await dead_letter_count(env) - dead_before
    return Figures(scenario, len(refs), lost, duplicated, longest, recover, dead, detail)
