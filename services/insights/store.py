"""insights' writes (asyncpg). Every function runs on the caller's connection, inside the
caller's transaction (the consumer shell's, with the inbox claim)."""

import uuid
from datetime import datetime

import asyncpg
from referral_schemas import EngagementLevel, Outcome

from services.insights.domain import DirectoryView, IntelligenceFact, ReferralFacts, Visit
from services.runtime.db import Connection
from services.runtime.rows import lock_or_create


def _facts(row: asyncpg.Record) -> ReferralFacts:
    return ReferralFacts(
        referral_id=row["referral_id"],
        force=row["force"],
        district=row["district"],
        area=row["area"],
        opened_at=row["opened_at"],
        first_contact_at=row["first_contact_at"],
        engagement=EngagementLevel(row["engagement"]) if row["engagement"] else None,
        engagement_at=row["engagement_at"],
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        outcome_at=row["outcome_at"],
        cancelled_at=row["cancelled_at"],
    )


async def load_for_update(conn: Connection, referral_id: uuid.UUID) -> ReferralFacts:
    """The referral's facts, locked until commit; blank for a referral never seen."""
    return _facts(await lock_or_create(conn, "referral_facts", referral_id))


async def save(conn: Connection, facts: ReferralFacts, now: datetime) -> None:
    await conn.execute(
        """UPDATE referral_facts
              SET force = $2, district = $3, area = $4, opened_at = $5, first_contact_at = $6,
                  engagement = $7, engagement_at = $8, outcome = $9, outcome_at = $10,
                  cancelled_at = $11, engaged = $12, updated_at = $13
            WHERE referral_id = $1""",
        facts.referral_id,
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
    await conn.execute("DELETE FROM areas")  # cascades to area_districts
    await conn.executemany(
        "INSERT INTO areas (code, name, force) VALUES ($1, $2, $3)",
        [(area.code, area.name, area.force) for area in view.areas],
    )
    await conn.executemany(
        "INSERT INTO area_districts (district, area) VALUES ($1, $2)",
        [(district, area.code) for area in view.areas for district in area.districts],
    )
