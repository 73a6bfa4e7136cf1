"""The casework queue page (GET /referrals) with many referrals stored.

Seeding: the rows are written with casework's own fold and store functions
(``domain.evolve`` of a ReferralOpened then a ReferralRouted, ``store.save``,
``store.add_to_timeline``), the very code its consumer runs for each event, so the table,
its indexes and the jsonb state the page reads are what the consumer would have written.
Only the Kafka hop and the inbox rows are skipped; the page never reads either. Feeding
200,000 events through the consumer would take minutes on two cores and time the consumer,
not the page. The seeded referrals belong to a force and an agency of their own
(``benchq<rows>`` / ``bench-q<rows>``), so no other referral counts in their queue and the
totals the API reports can be checked exactly. They are deleted after the measurement: they
are not on the topics, so they must not outlive the phase (an audit replay compares casework
with the log, and the CI smoke run shares the test stack).
"""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from referral_schemas import (
    Indicator,
    PersonalDetails,
    ReferralOpened,
    ReferralSubject,
    RiskLevel,
    make_envelope,
)
from referral_schemas.intelligence_v1 import Address
from referral_schemas.lifecycle_v1 import ReferralRouted

from bench.histogram import Histogram
from bench.system import System
from services.casework import domain, store
from services.runtime.auth import ensure_signing_keys, mint_token
from services.runtime.db import create_pool
from services.runtime.sealing import seal

_AREAS = (("barrow", "LA14", "Barrow-in-Furness"), ("kendal", "LA9", "Kendal"))
_RISKS = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL)
_BATCH = 500


def scope(rows: int) -> tuple[str, str]:
    """(force, agency) of the seeded referrals of this size."""
    return f"benchq{rows}", f"bench-q{rows}"


_READER = X25519PrivateKey.generate().public_key()
"""The queue page shows no person: what the seeded referrals seal is never opened."""


def _area_index(n: int) -> int:
    """Areas alternate in runs of 7, risks cycle by 4: neither predicts the other."""
    return (n // 7) % len(_AREAS)


def _events(n: int, force: str, agency: str, base: datetime) -> list[Any]:
    rid = uuid.uuid4()
    area, district, town = _AREAS[_area_index(n)]
    opened_at = base - timedelta(minutes=n % 100_000)
    opened = ReferralOpened(
        referral_id=rid,
        force=force,
        intelligence_ref=f"BENCHQ/{n:07d}",
        isa_version="cumbria-1clic-isa-v1",
        opened_at=opened_at,
        risk_level=_RISKS[n % len(_RISKS)],
        reason_categories=[Indicator.CUCKOOING],
        personal=seal(
            PersonalDetails(
                subject=ReferralSubject(given_name="Bench", family_name=f"Queue {n}", phone=None),
                address=Address(line1=f"{n} Queue Street", town=town, postcode=f"{district} 1AB"),
            ),
            referral_id=rid,
            reader=_READER,
        ).sealed,
        postcode_district=district,
        visitor_safety=[],
    )
    routed = ReferralRouted(
        referral_id=rid,
        agency=agency,
        area=area,
        due_by=opened_at + timedelta(hours=48 + n % 97),
        routed_at=opened_at,
        directory_version=1,
        isa_version="cumbria-1clic-isa-v1",
    )
    out = []
    for data, actor in ((opened, "system:intake"), (routed, "system:routing")):
        out.append(
            make_envelope(
                data,
                id=uuid.uuid4(),
                source="referral-hub/bench",
                time=opened_at,
                subject=str(rid),
                correlation_id=rid,
                causation_id=None,
                actor=actor,
            )
        )
    return out


async def _seed_batch(pool: "asyncpg.Pool[Any]", first: int, count: int, rows: int) -> None:
    force, agency = scope(rows)
    base = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        for n in range(first, first + count):
            state: domain.CaseState | None = None
            for envelope in _events(n, force, agency, base):
                folded = domain.evolve(state, envelope)
                assert isinstance(folded, domain.CaseState)
                state = folded
                await store.save(conn, state)
                await store.add_to_timeline(conn, envelope)


async def remove(system: System, rows: int) -> None:
    _, agency = scope(rows)
    conn = await asyncpg.connect(system.dsn("casework"))
    try:
        async with conn.transaction():
            ids = "SELECT referral_id FROM referrals WHERE agency = $1"
            await conn.execute(f"DELETE FROM timeline WHERE referral_id IN ({ids})", agency)
            await conn.execute("DELETE FROM referrals WHERE agency = $1", agency)
    finally:
        await conn.close()


async def seed(system: System, rows: int) -> tuple[int, float]:
    """Top the bench queue up to ``rows`` referrals; returns (rows added, seconds)."""
    started = time.monotonic()
    pool = await create_pool(system.dsn("casework"), min_size=1, max_size=4)
    try:
        _, agency = scope(rows)
        have = int(await pool.fetchval("SELECT count(*) FROM referrals WHERE agency = $1", agency))
        starts = list(range(have, rows, _BATCH))
        for i in range(0, len(starts), 4):
            await asyncio.gather(
                *[_seed_batch(pool, s, min(_BATCH, rows - s), rows) for s in starts[i : i + 4]]
            )
        async with pool.acquire() as conn:
            # Steady state, not the minutes after a bulk load: autovacuum would have set the
            # visibility map (index-only counts) and the statistics by then.
            await conn.execute("VACUUM (ANALYZE) referrals")
        return rows - have, time.monotonic() - started
    finally:
        await pool.close()


def _headers(private_key: str, role: str, agency: str | None, force: str | None) -> dict[str, str]:
    token = mint_token(
        private_key,
        user="bench-reader",
        role=role,
        agency=agency,
        force=force,
        now=datetime.now(UTC),
        lifetime=timedelta(hours=2),
    )
    return {"Authorization": f"Bearer {token}"}


async def _time_requests(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], count: int
) -> tuple[Histogram, set[int], list[str]]:
    histogram, totals, problems = Histogram(), set(), []
    for n in range(count + 10):  # the first 10 warm up connections and caches, untimed
        began = time.perf_counter()
        response = await client.get("/referrals", params=params, headers=headers)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            problems.append(f"HTTP {response.status_code}")
            break
        body = response.json()
        totals.add(int(body["total"]))
        if len(body["items"]) != min(int(params.get("limit", "50")), int(body["total"])):
            problems.append("a page came back short")
            break
        if n >= 10:
            histogram.record(int(elapsed * 1_000_000))
    return histogram, totals, problems


async def measure(system: System, rows: int, requests: int) -> dict[str, Any]:
    try:
        return await _measure(system, rows, requests)
    finally:
        await remove(system, rows)


async def _measure(system: System, rows: int, requests: int) -> dict[str, Any]:
    added, seed_s = await seed(system, rows)
    force, agency = scope(rows)
    private_key = ensure_signing_keys(system.settings.root)[0].read_text()
    staff = _headers(private_key, "support_worker", agency, None)
    police = _headers(private_key, "police_coordinator", None, force)
    barrow = sum(1 for n in range(rows) if _area_index(n) == 0)
    variants = [
        ("agency queue, first page of 50", {}, staff, rows),
        (
            "agency queue, status + area filter",
            {"status": "awaiting_acceptance", "area": "barrow"},
            staff,
            barrow,
        ),
        ("police force view, first page of 50", {}, police, rows),
    ]
    url = f"http://127.0.0.1:{system.http_port}"
    results = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for name, params, headers, expected in variants:
            histogram, totals, problems = await _time_requests(client, params, headers, requests)
            if not problems and totals != {expected}:
                problems.append(f"API reported totals {sorted(totals)}, expected {expected}")
            summary = histogram.summary_ms() if histogram.total else {}
            results.append(
                {"variant": name, "expected_total": expected, "requests": histogram.total}
                | {"verified": not problems, "problems": problems}
                | ({k: summary[k] for k in ("p50", "p95", "p99", "max")} if not problems else {})
            )
    return {
        "rows": rows,
        "seeded_now": added,
        "seed_seconds": round(seed_s, 1),
        "seeding": "casework's own fold and store functions (see bench/queue_page.py)",
        "variants": results,
        "verified": all(r["verified"] for r in results),
    }
