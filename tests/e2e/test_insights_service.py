"""insights as a separate process on the real broker and database: a realistic story of two
months published as the services and police systems would publish it, read back over HTTP
(exact as an auditor, small counts withheld for the force's coordinator, nothing for another
force's); then a second instance with a fresh consumer group and a fresh schema replays every topic
from offset 0 and serves the same figures."""

import json
import random
import string
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from referral_schemas import CancellationReason
from referral_schemas.topics import POLICE_OUTCOMES, REFERRAL_EVENTS

from services.runtime.auth import ensure_signing_keys, mint_token
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_for_referral
from tests.e2e.lifecycle_support import free_port
from tests.support.directory import cumbria_directory, next_directory_version, send_directory
from tests.support.insights_events import (
    FAMILY_NAME,
    GIVEN_NAME,
    Message,
    at,
)
from tests.support.insights_story import STORY_FIGURES, STORY_LINES, programme_story
from tests.support.kafka import send, wait_committed, watch
from tests.support.kafka_auth import client_kwargs, stack_env_of
from tests.support.provenance import signed
from tests.support.referral_log import AGENCY, OTHER_AGENCY, ReferralLog, published
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
_rng = random.SystemRandom()


def unique_place() -> tuple[str, str]:
    """An area code and a postcode district no other run uses ('Q' starts no real one)."""
    letters = string.ascii_uppercase
    district = f"Q{_rng.choice(letters)}{_rng.randint(1, 9)}{_rng.choice(letters)}"
    return f"t-{uuid.uuid4().hex[:10]}", district


async def publish(bootstrap: str, messages: list[Message]) -> list[tuple[int, int]]:
    """In order, each on its own topic and key, as their producers would send them;
    returns (partition, offset) of each."""
    producer = AIOKafkaProducer(**client_kwargs(bootstrap), acks="all")
    await producer.start()
    try:
        sent = []
        for m in messages:
            key = m.key.encode()
            headers = signed(stack_env_of(bootstrap), m.topic, key, m.value)
            meta = await producer.send_and_wait(m.topic, m.value, key=key, headers=headers)
            sent.append((meta.partition, meta.offset))
        return sent
    finally:
        await producer.stop()


async def directory_with(bootstrap: str, area: str, district: str, **extra: Any) -> None:
    """The Cumbria directory plus one test area, as a new version."""
    version = await next_directory_version(bootstrap)
    base = cumbria_directory(version, capacity=100_000)
    areas = [
        *base["areas"],
        {
            "code": area,
            "name": f"Test {area}",
            "force": "cumbria",
            "postcode_districts": [district],
        },
    ]
    await send_directory(
        bootstrap, cumbria_directory(version, capacity=100_000, areas=areas, **extra)
    )


@dataclass
class Reader:
    """Someone reading the figures over HTTP from one insights instance: an auditor unless
    told otherwise (exact figures, every area)."""

    client: httpx.AsyncClient
    private_key: str
    role: str = "auditor"
    force: str | None = None

    def headers(self) -> dict[str, str]:
        token = mint_token(
            self.private_key,
            user="reader-1",
            role=self.role,
            agency=None,
            force=self.force,
            now=datetime.now(UTC),
            lifetime=timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(path, params=params, headers=self.headers())
        assert response.status_code == 200, response.text
        return response.json() if path != "/figures.csv" else response.text

    async def figures(self, area: str, first: str, last: str) -> dict[str, dict[str, Any]]:
        """GET /figures for one area, by month."""
        page = await self.get("/figures", **{"from": first, "to": last, "area": area})
        return {row["month"]: row for row in page["rows"]}

    async def county_lines(self, area: str, as_of: str) -> int | None:
        page = await self.get("/county-lines", as_of=as_of)
        return next((a["active_county_lines"] for a in page["areas"] if a["area"] == area), None)


def start_insights(
    spawn: Spawn, log_name: str, public_key: Path, **env: str
) -> tuple[ServiceProcess, int]:
    port = free_port()
    service = spawn(
        "insights",
        log_name,
        INSIGHTS_HTTP_PORT=str(port),
        INSIGHTS_TOKEN_PUBLIC_KEY_FILE=str(public_key),
        **env,
    )
    service.wait_for_log('"http_listening"')
    return service, port


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, Path]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    return private_path.read_text(), public_path


@pytest.fixture
async def fresh_schema(stack_env: dict[str, str]) -> AsyncIterator[str]:
    """An empty schema owned by insights' role; yields a DSN of insights selecting it."""
    admin_parts = urlsplit(stack_env["HUB_ADMIN_DATABASE_URL"])
    admin = await asyncpg.connect(urlunsplit(admin_parts._replace(path="/referral_hub")))
    name = f"insights_rebuild_{uuid.uuid4().hex[:10]}"
    await admin.execute(f"CREATE SCHEMA {name} AUTHORIZATION insights")
    try:
        dsn = urlsplit(stack_env["INSIGHTS_DATABASE_URL"])
        yield urlunsplit(dsn._replace(query=f"search_path={name}"))
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


async def test_figures_of_a_story_over_http_and_the_same_after_a_rebuild_from_offset_0(
    bootstrap: str,
    spawn: Spawn,
    keys: tuple[str, Path],
    fresh_schema: str,
    stack_env: dict[str, str],
) -> None:
    private_key, public_key = keys
    area, district = unique_place()
    live, port = start_insights(spawn, "insights-live", public_key)
    await directory_with(bootstrap, area, district)
    story = programme_story(area, district)
    unreadable = Message("police.intelligence", "cumbria:BROKEN", b'{"specversion": "1.0", ')
    sent = await publish(bootstrap, [*story[:10], unreadable, *story[10:]])

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        reader = Reader(client, private_key)

        async def story_folded() -> dict[str, dict[str, Any]] | None:
            # The story spans topics and partitions, folded in no global order: wait until
            # every figure is in (a figure that never comes fails here, naming the story).
            rows = await reader.figures(area, "2024-01", "2024-03")
            done = all(
                {name: rows.get(month, {}).get(name) for name in expected} == expected
                for month, expected in STORY_FIGURES.items()
            )
            return rows if done else None

        rows: dict[str, dict[str, Any]] = await eventually(
            story_folded, "story folded", timeout_s=180
        )
        for month, expected in STORY_FIGURES.items():
            assert {name: rows[month][name] for name in expected} == expected, month
            assert rows[month]["area_name"] == f"Test {area}"
        assert {d: await reader.county_lines(area, d) for d in STORY_LINES} == STORY_LINES
        csv_text = await Reader(client, private_key, "auditor").get(
            "/figures.csv", **{"from": "2024-01", "to": "2024-02", "area": area}
        )
        assert csv_text.count("\r\n") == 3  # the header and two months
        # Who sees what (the rest is in tests/security/test_insights_scope.py): Cumbria's
        # coordinator sees the area, every count of 1 to 4 withheld; another force's, nothing.
        cumbria = Reader(client, private_key, "police_coordinator", "cumbria")
        january = (await cumbria.figures(area, "2024-01", "2024-01"))["2024-01"]
        assert (january["referrals_opened"], january["engagement_rate"]) == (None, None)
        assert january["withheld"]["referrals_opened"] == "fewer_than_5"
        assert january["withheld"]["engagement_rate"] == "from_fewer_than_5"
        assert january["active_county_lines"] == 2, "county lines are never withheld"
        month_csv = await cumbria.get("/figures.csv", **{"from": "2024-01", "to": "2024-01"})
        area_line = next(line for line in month_csv.splitlines() if line.startswith(area))
        assert area_line.startswith(f"{area},Test {area},2024-01,<5,<5,<5,[c],<5,<5,[c],<5,2,")
        stranger = Reader(client, private_key, "police_coordinator", f"t-{uuid.uuid4().hex[:8]}")
        refused = await client.get("/figures", params={"area": area}, headers=stranger.headers())
        assert (refused.status_code, refused.json()["error"]) == (403, "area_out_of_scope")
        theirs = await stranger.get("/figures", **{"from": "2024-01", "to": "2024-02"})
        assert (theirs["areas_in_scope"], theirs["rows"]) == ([], [])
    dsn, (partition, offset) = stack_env["INSIGHTS_DATABASE_URL"], sent[10]
    await eventually(
        lambda: _dead_lettered(dsn, partition, offset), "unreadable dead-lettered", timeout_s=180
    )

    rebuilt, rebuilt_port = start_insights(
        spawn,
        "insights-rebuild",
        public_key,
        INSIGHTS_CONSUMER_GROUP=f"insights-rebuild-{uuid.uuid4().hex[:8]}",
        INSIGHTS_DATABASE_URL=fresh_schema,
    )
    try:
        base_url = f"http://127.0.0.1:{rebuilt_port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            again = Reader(client, private_key)

            async def same_figures() -> bool:
                return await again.figures(area, "2024-01", "2024-03") == rows

            await eventually(
                same_figures, "the rebuilt instance serves the same figures", timeout_s=180
            )

            async def same_lines() -> bool:
                # Intelligence is another topic: the rebuild may fold it after the figures.
                lines = {d: await again.county_lines(area, d) for d in STORY_LINES}
                return lines == STORY_LINES

            await eventually(
                same_lines, "the rebuilt instance counts the same county lines", timeout_s=180
            )
    finally:
        rebuilt.stop()  # before the fixture drops its schema
    personal = [GIVEN_NAME, FAMILY_NAME, *_intelligence_subjects(story)]
    for log in (live.log_path, rebuilt.log_path):
        text = log.read_text()
        assert [name for name in personal if name in text] == []


def _intelligence_subjects(story: list[Message]) -> list[str]:
    names = []
    for message in story:
        data = json.loads(message.value)["data"]
        if "subject" in data:
            names.append(data["subject"]["family_name"])
    return names


async def _dead_lettered(dsn: str, partition: int, offset: int) -> bool:
    """insights, under its own consumer name, dead-lettered the record at this position."""
    conn = await asyncpg.connect(dsn)
    try:
        found: bool = await conn.fetchval(
            """SELECT count(*) = 1 FROM dead_letters
                WHERE consumer = 'insights/police.intelligence'
                  AND source_topic = 'police.intelligence'
                  AND source_partition = $1 AND source_offset = $2""",
            partition,
            offset,
        )
        return found
    finally:
        await conn.close()


async def test_a_referral_resurrected_by_a_late_routing_is_one_cancellation_and_one_report(
    bootstrap: str, spawn: Spawn, keys: tuple[str, Path]
) -> None:
    """Defect 1, published as intake, routing and casework would: Opened > Routed >
    Cancelled(moved_away) > Routed(late) > Accepted, then worked and closed. Police hear once
    (moved_out_of_area); the figures hold one cancellation and no outcome, visit or contact."""
    private_key, public_key = keys
    area, district = unique_place()
    _, port = start_insights(spawn, "insights-resurrected", public_key)
    spawn("feedback", "feedback-resurrected")
    await directory_with(bootstrap, area, district)
    log = ReferralLog(uuid.uuid4(), at("2024-05-10 09:00"), f"CUM/RES/{uuid.uuid4().hex[:8]}")
    events = [
        log.opened(district),
        log.routed(AGENCY, area),
        log.cancellation_requested(CancellationReason.MOVED_AWAY, hours=1),
        log.cancelled(CancellationReason.MOVED_AWAY, hours=1),
        log.routed(OTHER_AGENCY, area, hours=2),
        log.accepted(OTHER_AGENCY, hours=3),
        log.contact(agency=OTHER_AGENCY, hours=4),
        log.visited(agency=OTHER_AGENCY, hours=5),
        log.completed(agency=OTHER_AGENCY, hours=6),
        log.closed(agency=OTHER_AGENCY, hours=7),
    ]
    rid = str(log.referral_id)
    is_report = event_for_referral("OutcomeReported", rid)
    async with watch(bootstrap, POLICE_OUTCOMES) as outcomes:
        values = [published(e, log.referral_id, log.t0) for e in events]
        sent = await send(bootstrap, REFERRAL_EVENTS, rid, values)
        await outcomes.wait_for(is_report, timeout_s=120)
        await wait_committed(bootstrap, "feedback", sent[-1])
        await wait_committed(bootstrap, "insights", sent[-1])
        reports = [r.json()["data"] for r in await outcomes.drain() if is_report(r)]
    assert [(r["outcome"], r["agency"]) for r in reports] == [("moved_out_of_area", AGENCY)]

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        row = (await Reader(client, private_key).figures(area, "2024-05", "2024-05"))["2024-05"]
    assert (row["referrals_opened"], row["referrals_cancelled"]) == (1, 1)
    assert sum(row["outcomes"].values()) == 0
    assert (row["visits_completed"], row["referrals_contacted"]) == (0, 0)
