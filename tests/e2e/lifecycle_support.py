"""The whole system for lifecycle tests: intake, routing, casework and feedback as separate
processes, a directory in force, and staff acting through casework's HTTP API."""

import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.runtime.auth import mint_token
from tests.e2e.conftest import Spawn
from tests.support.directory import cumbria_directory, next_directory_version, send_directory
from tests.support.kafka import wait_committed
from tests.support.waiting import eventually

PLENTY = 100_000  # capacity: referrals of earlier runs still count against the agencies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Staff:
    """A person of an agency (or police) using casework's API."""

    client: httpx.AsyncClient
    private_key: str
    user: str
    role: str
    agency: str | None = None
    force: str | None = None

    def headers(self) -> dict[str, str]:
        token = mint_token(
            self.private_key,
            user=self.user,
            role=self.role,
            agency=self.agency,
            force=self.force,
            now=datetime.now(UTC),
            lifetime=timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}

    async def act(self, referral_id: str, action: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            f"/referrals/{referral_id}/{action}", json=body or {}, headers=self.headers()
        )
        assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
        return response.json()

    async def detail(self, referral_id: str) -> httpx.Response:
        return await self.client.get(f"/referrals/{referral_id}", headers=self.headers())


async def sees(staff: Staff, referral_id: str, status: str | None = None) -> dict[str, Any]:
    """Wait until ``staff`` can open the referral (in ``status``, if given)."""

    async def visible() -> Any:
        response = await staff.detail(referral_id)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if status is None or body.get("status") == status else None

    found: dict[str, Any] = await eventually(visible, f"{staff.agency} sees {referral_id}")
    return found


def start_system(spawn: Spawn, test: str, public_key: Path, **intake_env: str) -> int:
    """All four services; returns casework's HTTP port."""
    port = free_port()
    spawn("intake", f"{test}-intake", **intake_env)
    spawn("routing", f"{test}-routing", ROUTING_TIMER_POLL_INTERVAL_S="0.2")
    casework = spawn(
        "casework",
        f"{test}-casework",
        CASEWORK_HTTP_PORT=str(port),
        CASEWORK_TOKEN_PUBLIC_KEY_FILE=str(public_key),
    )
    casework.wait_for_log('"http_listening"')
    spawn("feedback", f"{test}-feedback")
    return port


async def directory_in_force(bootstrap: str, **overrides: Any) -> None:
    """Publish a Cumbria directory version (with ``overrides``) and wait until routing has it."""
    version = await next_directory_version(bootstrap)
    data = cumbria_directory(version, **overrides)
    for agency in data["agencies"]:
        agency["capacity"] = PLENTY  # even in ``overrides``: earlier runs' referrals still count
    await wait_committed(bootstrap, "routing", await send_directory(bootstrap, data))
