"""Referrals routed before routing folded the lifecycle keep working after the upgrade:
migration 0003 turns each stored row into a lifecycle, counts the same open referrals,
queues the escalations routing now retries, and the next directory version acts on them."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing import domain
from services.routing.store import PgRoutingStore
from services.runtime.db import create_pool
from services.runtime.migrations import (
    RUNTIME_MIGRATIONS,
    apply_migrations,
    load_migrations,
    migrate_service,
)
from tests.integration.routing_harness import MIGRATIONS, RoutingInstance, directory
from tests.integration.runtime_fixtures import fresh_schema

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LEGACY = [  # status, agency, tried, escalation reason, district
    ("routing", "twc-barrow", ["twc-barrow"], None, "LA14"),
    ("routing", "twc-barrow", ["cumbria-recovery-south", "twc-barrow"], None, "LA14"),
    ("accepted", "twc-barrow", ["twc-barrow"], None, "LA14"),
    ("accepted", "twc-carlisle", ["twc-carlisle"], None, "CA1"),
    ("closed", "twc-carlisle", ["twc-carlisle"], None, "CA1"),
    ("cancelled", "twc-barrow", ["twc-barrow"], None, "LA13"),
    ("escalated", None, [], "no_agency_with_capacity", "CA2"),
    ("escalated", None, ["twc-carlisle"], "all_agencies_declined", "CA3"),
    ("awaiting_directory", None, [], None, "LA9"),
]


async def _insert_legacy(conn: Any) -> list[uuid.UUID]:
    ids = []
    for n, (status, agency, tried, reason, district) in enumerate(LEGACY):
        referral_id = uuid.uuid4()
        ids.append(referral_id)
        due_by = AT + timedelta(hours=48) if status == "routing" else None
        area = (
            {"LA": "barrow", "CA": "carlisle"}[district[:2]]
            if status != "awaiting_directory"
            else None
        )
        await conn.execute(
            """INSERT INTO referrals (referral_id, correlation_id, postcode_district, opened_at,
                   status, area, agency, tried_agencies, due_by, directory_version,
                   escalation_reason, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            referral_id,
            uuid.uuid4(),
            district,
            AT,
            status,
            area,
            agency,
            tried,
            due_by,
            None if status == "awaiting_directory" else 1,
            reason,
            AT + timedelta(minutes=n),
        )
        if due_by is not None:
            await conn.execute(
                """INSERT INTO timers (referral_id, agency, due_by, correlation_id, causation_id)
                   VALUES ($1, $2, $3, $4, $5)""",
                referral_id,
                agency,
                due_by,
                uuid.uuid4(),
                uuid.uuid4(),
            )
    return ids


async def test_rows_routed_before_the_upgrade_carry_on(stack_env: dict[str, str]) -> None:
    before = [m for m in load_migrations(MIGRATIONS, "routing") if "0003" not in m.version]
    async with fresh_schema(stack_env) as schema:
        conn = await schema.connect()
        try:
            await apply_migrations(conn, load_migrations(RUNTIME_MIGRATIONS, "runtime") + before)
            ids = await _insert_legacy(conn)
            assert await migrate_service(conn, "routing", MIGRATIONS) == ["routing/0003_lifecycle"]
            store = PgRoutingStore(conn)
            assert await store.open_counts() == {"twc-barrow": 3, "twc-carlisle": 1}
            states = [await store.load_for_update(i) for i in ids]
            statuses = [s.effective.status.value for s in states if s is not None]
            assert statuses == [
                "awaiting_acceptance",
                "awaiting_acceptance",
                "accepted",
                "accepted",
                "closed",
                "cancelled",
                "escalated",
                "escalated",
                "opened",
            ]
            first = states[0]
            assert first is not None
            assert domain.deadline(first.effective) == ("twc-barrow", AT + timedelta(hours=48))
            queued = await conn.fetch(
                "SELECT referral_id FROM referrals WHERE retry_order IS NOT NULL"
            )
            assert [r["referral_id"] for r in queued] == [ids[6]]
        finally:
            await conn.close()
        pool = await create_pool(schema.dsn, min_size=1, max_size=2)
        try:
            published = await RoutingInstance(pool).handle(directory(2))
        finally:
            await pool.close()
    # The next version offers the referral that waited for a directory and the one
    # escalated for lack of capacity; the one every agency declined stays with the police.
    assert {(e["subject"], e["type"], e["data"]["agency"]) for e in published} == {
        (str(ids[8]), "ReferralRouted", "cumbria-recovery-south"),
        (str(ids[6]), "ReferralRouted", "twc-carlisle"),
    }
