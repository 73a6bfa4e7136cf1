"""The console against the real casework API and PostgreSQL (in-process, no Kafka): the
demo sign-in's tokens are accepted, the queue and detail come from casework's state,
actions change it, refusals are shown in words, and other agencies' referrals stay hidden."""

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from services.console.demo import DemoUser
from services.console.session_store import PgSessionStore
from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.support.console_sessions import console_pool, pg_sessions
from tests.unit.test_casework_helpers import escalated, expired, opened, routed
from tests.unit.test_console_harness import CONSOLE_URL, CSRF, build_app

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "console_pool", "pg_sessions", "signing_keys"]
FORCE = f"f{uuid.uuid4().hex[:10]}"
"""The police demo user's force: only this module's escalated referrals belong to it."""


class Browser:
    """A signed-in user of the console (cookies kept between requests)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def csrf(self, path: str) -> str:
        found = CSRF.search((await self.client.get(path)).text)
        assert found is not None
        return found.group(1)

    async def sign_in(self, key: str) -> None:
        token = await self.csrf("/sign-in")
        response = await self.client.post(
            "/sign-in/demo", data={"demo_user": key, "csrf_token": token}
        )
        assert response.status_code == 303

    async def act(self, rid: uuid.UUID, action: str, **fields: str) -> httpx.Response:
        page = await self.client.get(f"/referrals/{rid}")
        key = re.search(
            rf'actions/{action}".*?name="action_key" value="([^"]+)"', page.text, re.DOTALL
        )
        data = {"csrf_token": await self.csrf(f"/referrals/{rid}"), **fields}
        if key is not None:
            data["action_key"] = key.group(1)
        return await self.client.post(f"/referrals/{rid}/actions/{action}", data=data)


@pytest.fixture
async def users(
    casework: Casework, signing_keys: tuple[str, str], pg_sessions: PgSessionStore
) -> AsyncIterator[tuple[str, dict[str, Browser]]]:
    """A worker of a fresh agency, a worker of another agency; and the agency's code."""
    agency, other = f"ag-{uuid.uuid4().hex[:8]}", f"ag-{uuid.uuid4().hex[:8]}"
    demo = (
        DemoUser("worker", "w-1", "support_worker", "Worker One", agency=agency),
        DemoUser("other", "w-9", "support_worker", "Worker Nine", agency=other),
        DemoUser("police", "spoc-9", "police_coordinator", "Coordinator", force=FORCE),
    )
    app = build_app(signing_keys, casework.client, sessions=pg_sessions)
    app.state.deps = type(app.state.deps)(**{**vars(app.state.deps), "demo_users": demo})
    browsers: dict[str, Browser] = {}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL) as first,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL) as second,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL) as third,
    ):
        browsers["worker"], browsers["other"] = Browser(first), Browser(second)
        browsers["police"] = Browser(third)
        for name, browser in browsers.items():
            await browser.sign_in(name)
        yield agency, browsers


async def test_a_worker_finds_accepts_and_completes_a_referral(
    casework: Casework, users: tuple[str, dict[str, Browser]]
) -> None:
    agency, browsers = users
    worker = browsers["worker"]
    rid = await casework.routed_referral(agency=agency, due_in=timedelta(hours=40))
    queue = await worker.client.get("/queue")
    assert f"/referrals/{rid}" in queue.text
    assert (await worker.act(rid, "accept")).status_code == 303
    assert (await worker.act(rid, "visit")).status_code == 303
    done = await worker.act(rid, "complete", outcome="engaged_with_support")
    assert done.status_code == 303
    page = await worker.client.get(f"/referrals/{rid}")
    assert "Referral completed." in page.text
    assert "<dd>Engaged with support</dd>" in page.text
    assert "<dt>Visits completed</dt><dd>1</dd>" in page.text
    timeline = await worker.client.get(f"/referrals/{rid}/timeline")
    for step in ("Accepted", "Visit completed", "Completed"):
        assert f'data-label="What">{step}</th>' in timeline.text
    assert "user:w-1" in timeline.text


async def test_an_illegal_action_shows_caseworks_reason_and_changes_nothing(
    casework: Casework, users: tuple[str, dict[str, Browser]]
) -> None:
    agency, browsers = users
    rid = await casework.routed_referral(agency=agency)
    refused = await browsers["worker"].act(rid, "close")
    assert refused.status_code == 409
    assert "Close was refused: only a completed referral can be closed" in refused.text
    assert "Awaiting acceptance" in refused.text


async def test_a_worker_of_another_agency_gets_not_found(
    casework: Casework, users: tuple[str, dict[str, Browser]]
) -> None:
    agency, browsers = users
    rid = await casework.routed_referral(agency=agency)
    for path in (f"/referrals/{rid}", f"/referrals/{rid}/timeline"):
        page = await browsers["other"].client.get(path)
        assert page.status_code == 404
        assert "Referral not found" in page.text
    acted = await browsers["other"].act(rid, "accept")
    assert acted.status_code == 404
    assert f"/referrals/{rid}" not in (await browsers["other"].client.get("/queue")).text


async def test_resending_the_same_form_acts_once(
    casework: Casework, users: tuple[str, dict[str, Browser]]
) -> None:
    agency, browsers = users
    worker = browsers["worker"]
    rid = await casework.routed_referral(agency=agency)
    assert (await worker.act(rid, "accept")).status_code == 303
    page = await worker.client.get(f"/referrals/{rid}")
    key = re.search(r'actions/visit".*?name="action_key" value="([^"]+)"', page.text, re.DOTALL)
    assert key is not None
    token = await worker.csrf(f"/referrals/{rid}")
    form = {"csrf_token": token, "action_key": key.group(1)}
    for _ in range(2):
        sent = await worker.client.post(f"/referrals/{rid}/actions/visit", data=form)
        assert sent.status_code == 303
    page = await worker.client.get(f"/referrals/{rid}")
    assert "<dt>Visits completed</dt><dd>1</dd>" in page.text


async def test_a_coordinator_closes_an_escalation_and_a_late_direction_is_refused(
    casework: Casework, users: tuple[str, dict[str, Browser]]
) -> None:
    _, browsers = users
    police = browsers["police"]
    rid = uuid.uuid4()
    await casework.feed(opened(rid, force=FORCE), routed(rid), expired(rid), escalated(rid))
    escalations = await police.client.get("/police/escalations")
    assert f"/referrals/{rid}" in escalations.text
    assert "All agencies declined" in escalations.text
    closed = await police.act(rid, "close-escalation", outcome="safeguarding_escalated")
    assert closed.status_code == 303
    page = await police.client.get(f"/referrals/{rid}")
    assert "Referral closed; the outcome is reported to your force." in page.text
    assert "Direct referral" not in page.text, "nothing left to resolve"
    late = await police.act(rid, "direct", agency="twc-carlisle", reason="only_suitable_agency")
    assert late.status_code == 409
    assert "Direct to an agency was refused: the referral is closed" in late.text
    timeline = await police.client.get(f"/referrals/{rid}/timeline")
    assert 'data-label="What">Closed by police</th>' in timeline.text
    assert "Recorded, being confirmed" in timeline.text
