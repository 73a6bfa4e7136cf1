"""casework's staff API as its own process (uvicorn, the real PostgreSQL and broker), seen
by an attacker on the wire: no docs unless switched on, a declared or chunked oversized
body refused without being read, no cacheable answer, and every refusal a JSON line of
its log with ``category: security``, never holding the token."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.hub.services_commands import _service_env
from services.runtime.auth import ensure_signing_keys, mint_token
from tests.e2e.conftest import Spawn, service_logs, spawn
from tests.e2e.lifecycle_support import free_port
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.security
__all__ = ["service_logs", "spawn"]


@dataclass
class Api:
    process: ServiceProcess
    port: int
    client: httpx.AsyncClient
    private_key: str

    def token(self, lifetime: timedelta = timedelta(hours=1)) -> str:
        return mint_token(
            self.private_key,
            user="worker-1",
            role="support_worker",
            agency=f"ag-{uuid.uuid4().hex[:8]}",
            force=None,
            now=datetime.now(UTC),
            lifetime=lifetime,
        )

    def security_lines(self) -> list[dict[str, Any]]:
        lines = self.process.log_path.read_text(errors="replace").splitlines()
        found = [json.loads(line) for line in lines if line.startswith("{")]
        return [line for line in found if line.get("category") == "security"]


@dataclass
class Launcher:
    """Starts casework processes that trust one test key pair."""

    spawn: Spawn
    public_key: Path
    private_key: str

    @contextlib.asynccontextmanager
    async def start(self, **env: str) -> AsyncIterator[Api]:
        port = free_port()
        process = self.spawn(
            "casework",
            f"casework-security-{port}",
            CASEWORK_HTTP_PORT=str(port),
            CASEWORK_TOKEN_PUBLIC_KEY_FILE=str(self.public_key),
            **env,
        )
        process.wait_for_log('"http_listening"')
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Api(process, port, client, self.private_key)


@pytest.fixture
def launcher(spawn: Spawn, tmp_path: Path) -> Launcher:
    private_path, public_path = ensure_signing_keys(tmp_path)
    return Launcher(spawn, public_path, private_path.read_text())


@pytest.fixture
async def api(launcher: Launcher) -> AsyncIterator[Api]:
    """casework as ``hub up`` would start it elsewhere: no CASEWORK_API_DOCS."""
    async with launcher.start() as running:
        yield running


async def _raw(port: int, head: str) -> tuple[str, str]:
    """Send ``head`` as the whole request (no body follows); the status line and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length"))
        return lines[0], (await reader.readexactly(length)).decode()
    finally:
        writer.close()


async def test_without_the_setting_there_are_no_docs(api: Api) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        response = await api.client.get(path)
        assert response.status_code == 404, path
        assert "swagger" not in response.text.lower()
    assert _service_env("casework", {}, demo_sign_in=True)["CASEWORK_API_DOCS"] == "true", (
        "hub up, the local development stack, turns them on"
    )


async def test_docs_when_switched_on(launcher: Launcher) -> None:
    async with launcher.start(CASEWORK_API_DOCS="true") as running:
        spec = await running.client.get("/openapi.json")
        assert spec.status_code == 200
        assert "/referrals/{referral_id}/accept" in spec.json()["paths"]
        assert (await running.client.get("/docs")).status_code == 200
        data = await running.client.get("/referrals")
        assert data.status_code == 401, "the routes the docs describe still need a token"


async def test_oversized_bodies_are_refused_on_the_wire(launcher: Launcher) -> None:
    """With CASEWORK_MAX_BODY_BYTES=2048 (the default, 64 KiB, is tested in-process)."""
    async with launcher.start(CASEWORK_MAX_BODY_BYTES="2048") as api:
        rid = uuid.uuid4()
        token = api.token()
        status, body = await _raw(
            api.port,
            f"POST /referrals/{rid}/engagement HTTP/1.1\r\nHost: casework\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Content-Length: 52428800\r\n\r\n",
        )
        assert status.split()[:2] == ["HTTP/1.1", "413"]
        assert json.loads(body) == {
            "error": "request_too_large",
            "detail": "the request body may be at most 2048 bytes",
        }

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(1024):  # 1 MiB in chunks, no Content-Length
                yield b" " * 1024

        chunked = await api.client.post(
            f"/referrals/{rid}/engagement",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert chunked.status_code == 413
        assert chunked.json()["error"] == "request_too_large"
        assert chunked.headers["cache-control"] == "no-store"
        refused = [e for e in api.security_lines() if e["event"] == "api_request_refused"]
    assert [(e["reason"], e["route"], e["referral_id"]) for e in refused] == [
        ("body_too_large", "/referrals/{referral_id}/engagement", str(rid))
    ] * 2
    assert refused[0]["declared"] == 52428800
    assert 2048 < refused[1]["received"] < 1024 * 1024, "counted, and not read to the end"
    assert refused[0]["service"] == "casework"


async def test_refusals_are_logged_as_security_events_without_the_token(api: Api) -> None:
    ten_years = api.token(lifetime=timedelta(days=3650))
    good = api.token()
    answers = [
        await api.client.get("/referrals"),
        await api.client.get("/referrals", headers={"Authorization": f"Bearer {ten_years}"}),
        await api.client.get("/referrals", headers={"Authorization": "Bearer not.a.token"}),
        await api.client.get(
            "/referrals?offset=9223372036854775808", headers={"Authorization": f"Bearer {good}"}
        ),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 422]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["pragma"] == "no-cache"
    events = api.security_lines()
    assert [(e["event"], e["reason"], e["route"]) for e in events] == [
        ("api_authentication_refused", "no_token", "/referrals"),
        ("api_authentication_refused", "lifetime_too_long", "/referrals"),
        ("api_authentication_refused", "malformed", "/referrals"),
    ], "a 422 is ordinary use, not a security event"
    text = api.process.log_path.read_text()
    for token in (ten_years, good):
        assert token.split(".")[1] not in text, "no token in the log"
