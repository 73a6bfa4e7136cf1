"""Where insights keeps its facts: the ``InsightsStore`` seam the handlers write through,
its PostgreSQL implementation (``PgInsightsStore``, on the consumer shell's connection and
inside its transaction, with the inbox claim) and an in-memory one for fast tests
(``InMemoryInsightsStore``). One contract suite
(tests/integration/test_insights_store_contract.py) runs against both.

The store owns the tables (migrations/): the handlers write them through it, and the
figures are read from them by SQL (figures.py, for the API, in one read-only snapshot).
Both stores also answer ``figures`` (``InsightsFigures``), so the contract suite checks
what each one's writes mean to a reader: the in-memory one computes them in Python
(memory_figures.py), the PostgreSQL one runs figures.py's SQL on its connection.
"""

import uuid
from datetime import datetime
from typing import Protocol

import asyncpg
from pydantic import TypeAdapter
from referral_schemas import EngagementLevel
from referral_schemas.lifecycle import Lifecycle

from services.insights import figures as sql_figures
from services.insights import memory_figures
from services.insights.domain import DirectoryView, IntelligenceFact, ReferralFacts, Visit
from services.insights.figures import FigureRow
from services.insights.periods import Month
from services.runtime.db import Connection
from services.runtime.rows import lock_or_create

_LIFECYCLE = TypeAdapter(Lifecycle)


class InsightsStore(Protocol):
    """What the handlers need."""

    async def load_for_update(self, referral_id: uuid.UUID) -> ReferralFacts:
        """The referral's facts, held for this transaction; blank for one never seen."""

    async def save(self, facts: ReferralFacts, now: datetime) -> None:
        """Keep ``facts`` (its referral's row), as of ``now``."""

    async def add_visit(self, visit: Visit) -> None:
        """Count ``visit`` once: a visit already kept (same event id) changes nothing."""

    async def save_intelligence(self, fact: IntelligenceFact) -> None:
        """Insert or refresh by (force, reference): a resend counts once. Discredited
        intelligence stays discredited."""

    async def discredit_intelligence(self, force: str, ref: str) -> None:
        """It no longer counts, also if not seen yet (kept for when it is)."""

    async def directory_version(self) -> int:
        """The directory version in force (0: none yet), held for this transaction."""

    async def replace_directory(self, view: DirectoryView, now: datetime) -> None:
        """Make ``view`` the directory in force (the caller checked it supersedes)."""


class InsightsFigures(Protocol):
    async def figures(
        self,
        first: Month,
        last: Month,
        area: str | None = None,
        scope: frozenset[str] | None = None,
    ) -> list[FigureRow]:
        """The figures of what is kept, as ``figures.figures`` defines them."""


class InMemoryInsightsStore:
    """Facts in dicts: for handler tests that need no database."""

    def __init__(self) -> None:
        self.referrals: dict[uuid.UUID, ReferralFacts] = {}
        self.saved_at: dict[uuid.UUID, datetime] = {}
        self.visits: dict[uuid.UUID, Visit] = {}
        self.intelligence: dict[tuple[str, str], IntelligenceFact] = {}
        self.discredited: set[tuple[str, str]] = set()
        self.directory: DirectoryView | None = None
        self.directory_at: datetime | None = None

    async def load_for_update(self, referral_id: uuid.UUID) -> ReferralFacts:
        return self.referrals.get(referral_id) or ReferralFacts(referral_id)

    async def save(self, facts: ReferralFacts, now: datetime) -> None:
        self.referrals[facts.referral_id] = facts
        self.saved_at[facts.referral_id] = now

    async def add_visit(self, visit: Visit) -> None:
        self.visits.setdefault(visit.event_id, visit)

    async def save_intelligence(self, fact: IntelligenceFact) -> None:
        self.intelligence[(fact.force, fact.intelligence_ref)] = fact

    async def discredit_intelligence(self, force: str, ref: str) -> None:
        self.discredited.add((force, ref))

    async def directory_version(self) -> int:
        return 0 if self.directory is None else self.directory.version

    async def replace_directory(self, view: DirectoryView, now: datetime) -> None:
        self.directory, self.directory_at = view, now

    async def figures(
        self,
        first: Month,
        last: Month,
        area: str | None = None,
        scope: frozenset[str] | None = None,
    ) -> list[FigureRow]:
        counted = [fact for key, fact in self.intelligence.items() if key not in self.discredited]
        kept = memory_figures.Kept(
            list(self.referrals.values()), list(self.visits.values()), counted, self.directory
        )
        return memory_figures.figures(kept, first, last, area, scope)


class PgInsightsStore:
    """insights' tables on the caller's connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(self, referral_id: uuid.UUID) -> ReferralFacts:
        """Locked until commit (FOR UPDATE): instances handling one referral take turns."""
        return _facts(await lock_or_create(self._conn, "referral_facts", referral_id))

    async def save(self, facts: ReferralFacts, now: datetime) -> None:
        await _save(self._conn, facts, now)

    async def add_visit(self, visit: Visit) -> None:
        await self._conn.execute(
            "INSERT INTO visits (event_id, referral_id, visited_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (event_id) DO NOTHING",
            visit.event_id,
            visit.referral_id,
            visit.visited_at,
        )

    async def save_intelligence(self, fact: IntelligenceFact) -> None:
        await self._conn.execute(
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

    async def discredit_intelligence(self, force: str, ref: str) -> None:
        await self._conn.execute(
            """INSERT INTO intelligence_facts (force, intelligence_ref, discredited)
               VALUES ($1, $2, true)
               ON CONFLICT (force, intelligence_ref) DO UPDATE SET discredited = true""",
            force,
            ref,
        )

    async def directory_version(self) -> int:
        """Locked until commit, so directory updates serialise on it even while two
        instances share the topic during a rebalance."""
        await self._conn.execute(
            "INSERT INTO directory_in_force (version, updated_at) VALUES (0, now())"
            " ON CONFLICT DO NOTHING"
        )
        version: int = await self._conn.fetchval(
            "SELECT version FROM directory_in_force WHERE singleton FOR UPDATE"
        )
        return version

    async def replace_directory(self, view: DirectoryView, now: datetime) -> None:
        await _replace_directory(self._conn, view, now)

    async def figures(
        self,
        first: Month,
        last: Month,
        area: str | None = None,
        scope: frozenset[str] | None = None,
    ) -> list[FigureRow]:
        return await sql_figures.figures(self._conn, first, last, area, scope)


def _facts(row: asyncpg.Record) -> ReferralFacts:
    stored = row["lifecycle"]
    return ReferralFacts(
        referral_id=row["referral_id"],
        lifecycle=None if stored is None else _LIFECYCLE.validate_python(stored),
        engagement=EngagementLevel(row["engagement"]) if row["engagement"] else None,
        engagement_at=row["engagement_at"],
        district=row["district"],
    )


async def _save(conn: Connection, facts: ReferralFacts, now: datetime) -> None:
    """The facts, and the columns the figures' SQL reads, derived from them. Usually the row
    exists (load_for_update made it); a save without that load keeps too."""
    life = facts.lifecycle
    await conn.execute(
        """INSERT INTO referral_facts
                   (referral_id, lifecycle, status, force, district, area, opened_at,
                    first_contact_at, engagement, engagement_at, outcome, outcome_at,
                    cancelled_at, engaged, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (referral_id) DO UPDATE
              SET lifecycle = EXCLUDED.lifecycle, status = EXCLUDED.status,
                  force = EXCLUDED.force, district = EXCLUDED.district, area = EXCLUDED.area,
                  opened_at = EXCLUDED.opened_at, first_contact_at = EXCLUDED.first_contact_at,
                  engagement = EXCLUDED.engagement, engagement_at = EXCLUDED.engagement_at,
                  outcome = EXCLUDED.outcome, outcome_at = EXCLUDED.outcome_at,
                  cancelled_at = EXCLUDED.cancelled_at, engaged = EXCLUDED.engaged,
                  updated_at = EXCLUDED.updated_at""",
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


async def _replace_directory(conn: Connection, view: DirectoryView, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO directory_in_force (version, updated_at) VALUES ($1, $2)"
        " ON CONFLICT (singleton) DO UPDATE"
        " SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
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
