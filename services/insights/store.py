"""insights' writes (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction (the consumer shell's, with the inbox claim)."""

import uuid
from datetime import datetime

import asyncpg
from pydantic import TypeAdapter
from referral_schemas import EngagementLevel
from referral_schemas.lifecycle import Lifecycle

from services.insights.domain import DirectoryView, IntelligenceFact, ReferralFacts, Visit
from services.runtime.db import Connection
from services.runtime.rows import lock_or_create

_LIFECYCLE = TypeAdapter(Lifecycle)


def _facts(row: asyncpg.Record) -> ReferralFacts:
    stored = row["lifecycle"]
    return ReferralFacts(
        referral_id=row["referral_id"],
        lifecycle=None if stored is None else _LIFECYCLE.validate_python(stored),
        engagement=EngagementLevel(row["engagement"]) if row["engagement"] else None,
        engagement_at=row["engagement_at"],
        district=row["district"],
    )


async def load_for_update(conn: Connection, referral_id: uuid.UUID) -> ReferralFacts:
    """The referral's facts, locked until commit; blank for a referral never seen."""
    return _facts(await lock_or_create(conn, "referral_facts", referral_id))


async def save(conn: Connection, facts: ReferralFacts, now: datetime) -> None:
    """The facts, and the columns the figures' SQL reads, derived from them."""
    life = facts.lifecycle
    await conn.execute(
        """UPDATE referral_facts
              SET lifecycle = $2, status = $3, force = $4, district = $5, area = $6,
                  opened_at = $7, first_contact_at = $8, engagement = $9, engagement_at = $10,
                  outcome = $11, outcome_at = $12, cancelled_at = $13, engaged = $14,
                  updated_at = $15
            WHERE referral_id = $1""",
        facts.referral_id,
        None if life is None else _LIFECYCLE.dump_python(life, mode="json"),
        None if life is None else life.status.value,
        facts.force,
        facts.district,
        facts.area,
        facts.opened_at,
        facts.first_contact_at,
        facts.engagement.value if facts.engagement else None,
        facts.engagement_at,
        facts.outcome.value if facts.outcome else None,
        facts.outcome_at,
        facts.cancelled_at,
        facts.engaged,
        now,
    )


async def add_visit(conn: Connection, visit: Visit) -> None:
    await conn.execute(
        "INSERT INTO visits (event_id, referral_id, visited_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (event_id) DO NOTHING",
        visit.event_id,
        visit.referral_id,
        visit.visited_at,
    )


async def save_intelligence(conn: Connection, fact: IntelligenceFact) -> None:
    """Insert or refresh by (force, reference): a resend counts once."""
    await conn.execute(
        """INSERT INTO intelligence_facts
                   (force, intelligence_ref, district, county_line, recorded_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (force, intelligence_ref) DO UPDATE
               SET district = EXCLUDED.district, county_line = EXCLUDED.county_line,
                   recorded_at = EXCLUDED.recorded_at""",
        fact.force,
        fact.intelligence_ref,
        fact.district,
        fact.county_line,
        fact.recorded_at,
    )


async def discredit_intelligence(conn: Connection, force: str, ref: str) -> None:
    """Mark it discredited, also if the submission has not been seen (kept for when it is)."""
    await conn.execute(
        """INSERT INTO intelligence_facts (force, intelligence_ref, discredited)
           VALUES ($1, $2, true)
           ON CONFLICT (force, intelligence_ref) DO UPDATE SET discredited = true""",
        force,
        ref,
    )


async def directory_version(conn: Connection) -> int:
    """The version in force (0: none yet), locked until commit, so directory updates
    serialise on it even while two instances share the topic during a rebalance."""
    await conn.execute(
        "INSERT INTO directory_in_force (version, updated_at) VALUES (0, now())"
        " ON CONFLICT DO NOTHING"
    )
    version: int = await conn.fetchval(
        "SELECT version FROM directory_in_force WHERE singleton FOR UPDATE"
    )
    return version


async def replace_directory(conn: Connection, view: DirectoryView, now: datetime) -> None:
    """Make ``view`` the directory in force (the caller checked it supersedes)."""
    await conn.execute(
        "UPDATE directory_in_force SET version = $1, updated_at = $2 WHERE singleton",
        view.version,
        now,
    )
    await conn.execute("DELETE FROM areas")  # cascades to area_districts and agency_areas
    await conn.executemany(
        "INSERT INTO areas (code, name, force) VALUES ($1, $2, $3)",
        [(area.code, area.name, area.force) for area in view.areas],
    )
    await conn.executemany(
        "INSERT INTO area_districts (district, area) VALUES ($1, $2)",
        [(district, area.code) for area in view.areas for district in area.districts],
    )
    await conn.executemany(
        "INSERT INTO agency_areas (agency, area) VALUES ($1, $2)",
        [(agency.code, area) for agency in view.agencies for area in agency.areas],
    )
