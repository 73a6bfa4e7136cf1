"""The console's sign-in and sessions under attack: the real console app (in-process ASGI)
on its real session store in PostgreSQL (the console's own role and schema), with a fake of
casework's API behind it. Time moves by an injected clock, never by sleeping."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from services.console.session_cookie import store_key
from services.console.session_store import PgSessionStore
from services.console.settings import ConsoleSettings
from tests.support.clock import FixedClock
from tests.support.console_sessions import console_pool, pg_sessions
from tests.unit.test_console_harness import (
    CONSOLE_URL,
    DEMO_SETTINGS,
    Console,
    FakeCasework,
    build_app,
    console_keys,
    fake_casework,
)

pytestmark = pytest.mark.security
__all__ = ["console_keys", "console_pool", "fake_casework", "pg_sessions"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@dataclass
class Consoles:
    """Console instances on the one real session store, and browsers of them."""

    keys: tuple[str, str]
    casework: FakeCasework
    casework_http: httpx.AsyncClient
    sessions: PgSessionStore
    clock: FixedClock
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def instance(self, settings: ConsoleSettings = DEMO_SETTINGS) -> FastAPI:
        return build_app(
            self.keys,
            self.casework_http,
            settings=settings,
            sessions=self.sessions,
            clock=self.clock,
        )

    def browser(self, app: FastAPI | None = None, cookie: str | None = None) -> Console:
        """A browser with its own cookie jar; ``cookie``: one captured elsewhere."""
        app = app or self.instance()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL)
        if cookie is not None:
            client.cookies.set("console_session", cookie, "console.local")
        self.clients.append(client)
        return Console(client, self.casework, app)


@pytest.fixture
async def consoles(
    console_keys: tuple[str, str],
    fake_casework: FakeCasework,
    pg_sessions: PgSessionStore,
    clock: FixedClock,
) -> AsyncIterator[Consoles]:
    casework_http = httpx.AsyncClient(
        transport=httpx.MockTransport(fake_casework.handle), base_url="http://casework"
    )
    made = Consoles(console_keys, fake_casework, casework_http, pg_sessions, clock)
    yield made
    for client in made.clients:
        await client.aclose()
    await casework_http.aclose()


def cookie_of(console: Console) -> str:
    return console.client.cookies["console_session"]


async def home_of(console: Console) -> str:
    """Where ``/`` sends this browser: the role's page when signed in, else sign-in. (No
    other service is asked, so the clock may run ahead of theirs.)"""
    response = await console.client.get("/")
    assert response.status_code == 303
    return response.headers["location"]


async def stored(pool: "asyncpg.Pool[Any]", cookie: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT data FROM sessions WHERE id_hash = $1", store_key(cookie.split(".")[0])
    )
    return None if row is None else dict(row["data"])


async def test_the_demo_sign_in_is_refused_unless_switched_on(
    consoles: Consoles, console_pool: "asyncpg.Pool[Any]"
) -> None:
    visitor = consoles.browser(consoles.instance(ConsoleSettings()))
    page = await visitor.client.get("/sign-in")
    assert "Demo sign-in" not in page.text
    assert "Choose who to sign in as" not in page.text
    # The page offers no form at all; the session's own CSRF token (read from the store) is
    # what a form would carry, so the refusal below is the demo route's, not CSRF's.
    before = await stored(console_pool, cookie_of(visitor))
    assert before is not None
    response = await visitor.client.post(
        "/sign-in/demo", data={"demo_user": "auditor", "csrf_token": before["csrf"]}
    )
    assert response.status_code == 404
    assert "The demo sign-in is not enabled here." in response.text
    assert (await visitor.client.get("/audit")).status_code == 303, "still signed out"
    session = await stored(console_pool, cookie_of(visitor))
    assert session is not None
    assert "user" not in session, "no one is signed in in the stored session"


async def test_a_cookie_captured_before_sign_out_is_dead_after_it(
    consoles: Consoles, fake_casework: FakeCasework, console_pool: "asyncpg.Pool[Any]"
) -> None:
    worker = consoles.browser()
    await worker.sign_in("barrow-worker")
    rid = fake_casework.add(status="accepted")
    captured_cookie = cookie_of(worker)
    captured_csrf = await worker.csrf(f"/referrals/{rid}")
    attempt = {"csrf_token": captured_csrf, "method": "phone", "result": "no_answer"}
    attacker = consoles.browser(worker.app, cookie=captured_cookie)
    before = await attacker.client.post(f"/referrals/{rid}/actions/contact", data=attempt)
    assert before.status_code == 303, "before sign-out the captured cookie acts"
    assert len(fake_casework.actions()) == 1

    assert (await worker.post_form("/sign-out", {}, "/queue")).status_code == 303
    assert await stored(console_pool, captured_cookie) is None, "deleted server-side"
    page = await attacker.client.get("/queue")
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=/queue"
    after = await attacker.client.post(f"/referrals/{rid}/actions/contact", data=attempt)
    assert after.status_code == 403
    assert "This form was refused" in after.text
    assert len(fake_casework.actions()) == 1, "nothing more reached casework"


async def test_sign_out_on_one_instance_ends_the_session_on_every_instance(
    consoles: Consoles,
) -> None:
    first = consoles.browser()
    await first.sign_in("police")
    other = consoles.browser(consoles.instance(), cookie=cookie_of(first))
    assert (await other.client.get("/police")).status_code == 200, "one session, two instances"
    assert (await other.post_form("/sign-out", {}, "/police")).status_code == 303
    assert (await first.client.get("/police")).status_code == 303


async def test_signing_in_gives_a_new_session_id_so_a_planted_one_is_useless(
    consoles: Consoles,
) -> None:
    attacker = consoles.browser()
    await attacker.client.get("/sign-in")
    planted = cookie_of(attacker)
    victim = consoles.browser(attacker.app, cookie=planted)
    await victim.sign_in("auditor")
    assert cookie_of(victim) != planted
    assert (await victim.client.get("/audit")).status_code == 200
    assert (await attacker.client.get("/audit")).status_code == 303, "the planted id is dead"


async def test_an_idle_session_ends_and_activity_keeps_it_alive(
    consoles: Consoles, clock: FixedClock, console_pool: "asyncpg.Pool[Any]"
) -> None:
    worker = consoles.browser()
    await worker.sign_in("barrow-worker")
    for _ in range(3):  # 87 minutes in all, never 30 without a request
        clock.at += timedelta(minutes=29)
        assert await home_of(worker) == "/queue", "still signed in"
    cookie = cookie_of(worker)
    clock.at += timedelta(minutes=30)
    with capture_logs() as logs:
        response = await worker.client.get("/queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/queue"
    assert await stored(console_pool, cookie) is None
    expired = [line for line in logs if line["event"] == "session_expired"]
    assert expired == [
        {
            "event": "session_expired",
            "category": "security",
            "user": "twc-b-0487",
            "role": "support_worker",
            "reason": "idle",
            "session": expired[0]["session"],
            "log_level": "info",
        }
    ]
    assert expired[0]["session"] not in cookie


async def test_a_session_ends_at_its_absolute_lifetime_however_active(
    consoles: Consoles, clock: FixedClock
) -> None:
    settings = DEMO_SETTINGS.model_copy(update={"session_max_age_s": 3600})
    worker = consoles.browser(consoles.instance(settings))
    await worker.sign_in("barrow-worker")
    for _ in range(2):
        clock.at += timedelta(minutes=25)
        assert await home_of(worker) == "/queue", "still signed in"
    clock.at += timedelta(minutes=10)  # 60 minutes after sign-in
    assert await home_of(worker) == "/sign-in"


async def test_the_cookie_is_secure_http_only_same_site_and_hsts_is_sent(
    consoles: Consoles,
) -> None:
    visitor = consoles.browser()
    page = await visitor.client.get("/sign-in")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    response = await visitor.client.post(
        "/sign-in/demo", data={"demo_user": "programme", "csrf_token": await visitor.csrf()}
    )
    attributes = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(part.startswith("domain=") for part in attributes), "this host only"
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_plain_http_for_development_drops_secure_and_hsts(consoles: Consoles) -> None:
    settings = DEMO_SETTINGS.model_copy(update={"allow_insecure_http": True})
    local = consoles.browser(consoles.instance(settings))
    page = await local.client.get("/sign-in")
    assert "strict-transport-security" not in page.headers
    assert "secure" not in page.headers["set-cookie"].lower()


async def test_a_request_in_flight_cannot_bring_back_a_signed_out_session(
    pg_sessions: PgSessionStore, clock: FixedClock
) -> None:
    key = store_key("in-flight-" + clock.now().isoformat())
    now = clock.now()
    await pg_sessions.create(key, {"user": {"user": "u"}}, now, now + timedelta(hours=1))
    await pg_sessions.delete(key)  # sign-out
    assert await pg_sessions.save(key, {"user": {"user": "u"}}, now) is False
    assert await pg_sessions.load(key) is None


async def test_ended_sessions_are_purged_and_live_ones_kept(
    pg_sessions: PgSessionStore, clock: FixedClock
) -> None:
    now, idle = clock.now(), timedelta(minutes=30)
    live, idle_key, old = (store_key(f"{name}-{now.isoformat()}") for name in "abc")
    await pg_sessions.create(live, {}, now, now + timedelta(hours=8))
    await pg_sessions.create(idle_key, {}, now - timedelta(hours=1), now + timedelta(hours=7))
    await pg_sessions.create(old, {}, now - timedelta(hours=9), now - timedelta(hours=1))
    await pg_sessions.purge(now, idle)
    assert await pg_sessions.load(live) is not None
    assert await pg_sessions.load(idle_key) is None
    assert await pg_sessions.load(old) is None
