"""The console app in-process, against a hand-written fake of casework's staff API (httpx
MockTransport) and an in-memory session store: no network, no database. The demo sign-in is
switched on explicitly (CONSOLE_DEMO_SIGN_IN), and the console is reached over https://, so
its default Secure cookies are what the tests exercise. Test modules import the fixtures
from here."""

import copy
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.console.app import create_app
from services.console.audit import AuditClient
from services.console.casework import CaseworkClient
from services.console.demo import DemoTokens
from services.console.figures import InsightsClient
from services.console.oidc import OidcClient
from services.console.session_store import SessionStore
from services.console.settings import ConsoleSettings
from services.console.web import ConsoleDeps
from services.runtime.auth import (
    AUDIENCE,
    LOCAL_ISSUER,
    InvalidToken,
    TokenVerifier,
    ensure_signing_keys,
)
from tests.support.clock import FixedClock
from tests.support.console_sessions import MemorySessionStore

NOW = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def referral_json(agency: str = "twc-barrow", **changes: Any) -> dict[str, Any]:
    """A referral as casework's detail answers it."""
    body: dict[str, Any] = {
        "referral_id": str(uuid.uuid4()),
        "status": "awaiting_acceptance",
        "risk_level": "high",
        "reason_categories": ["cuckooing"],
        "visitor_safety": ["aggressive_dogs", "do_not_visit_alone"],
        "force": "cumbria",
        "agency": agency,
        "area": "barrow",
        "postcode_district": "LA14",
        "opened_at": (NOW - timedelta(hours=3)).isoformat(),
        "due_by": (NOW + timedelta(hours=45)).isoformat(),
        "overdue": False,
        "held": False,
        "hold_reason": None,
        "assigned_to": None,
        "outcome": None,
        "cancel_reason": None,
        "isa_version": "cumbria-isa-2025.1",
        "subject": {
            "given_name": "Robin",
            "family_name": "Testperson",
            "date_of_birth": "1990-02-01",
            "phone": None,
        },
        "address": {
            "line1": "1 Demo Street",
            "line2": None,
            "town": "Barrow",
            "postcode": "LA14 1AA",
        },
        "contact_attempts": 0,
        "visit_attempts": 0,
        "visits_completed": 0,
        "first_contact_at": None,
        "engagement": None,
        "timeline": [
            {
                "event_id": str(uuid.uuid4()),
                "type": "ReferralRouted",
                "at": (NOW - timedelta(hours=3)).isoformat(),
                "actor": "service:routing",
                "agency": agency,
                "summary": {"agency": agency, "area": "barrow"},
            }
        ],
    }
    body.update(changes)
    return body


@dataclass
class FakeCasework:
    """casework's staff API as far as the console uses it, scoped by the token's agency."""

    verifier: TokenVerifier
    referrals: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    refuse_with: tuple[int, dict[str, str]] | None = None
    down: bool = False
    agencies: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"code": "twc-barrow", "name": "The Well Communities", "active": True, "areas": []},
            {"code": "old-agency", "name": "Closed Service", "active": False, "areas": []},
        ]
    )

    def add(self, **changes: Any) -> str:
        body = referral_json(**changes)
        self.referrals[body["referral_id"]] = body
        return str(body["referral_id"])

    def actions(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method in ("POST", "DELETE")]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.requests.append(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            identity = self.verifier.verify(token)
        except InvalidToken:
            return httpx.Response(401, json={"error": "invalid_token", "detail": "bad token"})
        path = request.url.path.strip("/").split("/")
        if path == ["referrals"]:
            return self._queue(identity.agency, identity.force, request)
        if path == ["agencies"]:
            body = {"received": bool(self.agencies), "agencies": self.agencies}
            return httpx.Response(200, json=body)
        found = self.referrals.get(path[1]) if len(path) > 1 else None
        if found is None or (
            found["agency"] != identity.agency and found["force"] != identity.force
        ):
            return httpx.Response(404, json={"error": "not_found", "detail": "no such referral"})
        if len(path) == 2:
            return httpx.Response(200, json=found)
        if self.refuse_with is not None:
            return httpx.Response(self.refuse_with[0], json=self.refuse_with[1])
        return httpx.Response(200, json={"referral_id": path[1], "status": "accepted"})

    def _queue(
        self, agency: str | None, force: str | None, request: httpx.Request
    ) -> httpx.Response:
        params = request.url.params
        items = [
            copy.deepcopy(r)
            for r in self.referrals.values()
            if (agency is not None and r["agency"] == agency)
            or (force is not None and r["force"] == force)
        ]
        if params.get("status"):
            items = [r for r in items if r["status"] == params["status"]]
        limit, offset = int(params.get("limit", 50)), int(params.get("offset", 0))
        page = items[offset : offset + limit]
        return httpx.Response(
            200, json={"items": page, "total": len(items), "limit": limit, "offset": offset}
        )


@dataclass
class Console:
    client: httpx.AsyncClient
    casework: FakeCasework
    app: FastAPI

    async def csrf(self, path: str = "/sign-in") -> str:
        page = await self.client.get(path)
        found = CSRF.search(page.text)
        assert found is not None, f"no CSRF token on {path}"
        return found.group(1)

    async def sign_in(self, demo_user: str = "barrow-worker") -> None:
        token = await self.csrf()
        response = await self.client.post(
            "/sign-in/demo", data={"demo_user": demo_user, "csrf_token": token, "next": "/"}
        )
        assert response.status_code == 303, response.text

    async def post_form(self, path: str, data: dict[str, str], page: str) -> httpx.Response:
        return await self.client.post(path, data={**data, "csrf_token": await self.csrf(page)})


@pytest.fixture(scope="session")
def console_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    private_path, public_path = ensure_signing_keys(tmp_path_factory.mktemp("console-keys"))
    return private_path.read_text(), public_path.read_text()


CONSOLE_URL = "https://console"
DEMO_SETTINGS = ConsoleSettings(demo_sign_in=True)
SESSION_SECRET = "test-session-secret-" + "x" * 20


def build_app(
    keys: tuple[str, str],
    casework: httpx.AsyncClient,
    *,
    insights: httpx.AsyncClient | None = None,
    audit: httpx.AsyncClient | None = None,
    oidc: OidcClient | None = None,
    settings: ConsoleSettings = DEMO_SETTINGS,
    sessions: SessionStore | None = None,
    clock: FixedClock | None = None,
) -> FastAPI:
    """The console as ``main`` wires it; the demo sign-in only if ``settings`` turn it on."""
    demo = DemoTokens(keys[0], timedelta(minutes=5)) if settings.demo_sign_in else None
    deps = ConsoleDeps(
        settings=settings,
        casework=CaseworkClient(casework),
        insights=InsightsClient(insights or httpx.AsyncClient(base_url="http://insights")),
        audit=AuditClient(audit or httpx.AsyncClient(base_url="http://audit")),
        clock=clock or FixedClock(datetime.now(UTC)),
        demo=demo,
        oidc=oidc,
        sessions=sessions or MemorySessionStore(),
    )
    return create_app(deps, SESSION_SECRET)


@pytest.fixture
def fake_casework(console_keys: tuple[str, str]) -> FakeCasework:
    return FakeCasework(TokenVerifier(console_keys[1], LOCAL_ISSUER, AUDIENCE))


@pytest.fixture
async def console(
    console_keys: tuple[str, str], fake_casework: FakeCasework
) -> AsyncIterator[Console]:
    upstream = httpx.AsyncClient(
        transport=httpx.MockTransport(fake_casework.handle), base_url="http://casework"
    )
    app = build_app(console_keys, upstream)
    transport = httpx.ASGITransport(app=app)
    async with (
        upstream,
        httpx.AsyncClient(transport=transport, base_url=CONSOLE_URL) as client,
    ):
        yield Console(client, fake_casework, app)


def sent_json(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
