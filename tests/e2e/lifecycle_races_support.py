"""The system for the race tests: intake, routing (two instances), casework, feedback and
audit as separate processes, and people using casework's API who keep every answer."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas.topics import REFERRAL_EVENTS

from infra.settings import InfraSettings
from services.audit.ledgered import LEDGERED_TOPICS
from services.audit.signing import ensure_checkpoint_key
from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.lifecycle_support import Staff, free_port
from tests.support.kafka import caught_up
from tests.support.waiting import eventually


class Person(Staff):
    """A member of staff whose every answer is kept, refusals included."""

    async def post(
        self, referral_id: str, action: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/referrals/{referral_id}/{action}", json=body or {}, headers=self.headers()
        )


@dataclass
class Racing:
    client: httpx.AsyncClient
    private_key: str
    env: dict[str, str]
    answers: list[tuple[str, str, str, httpx.Response]] = field(default_factory=list)

    def staff(self, agency: str) -> Person:
        return Person(self.client, self.private_key, f"w-{agency}", "support_worker", agency)

    @property
    def police(self) -> Person:
        return Person(
            self.client, self.private_key, "coord-1", "police_coordinator", force="cumbria"
        )


@pytest.fixture
async def racing(
    spawn: Spawn,
    tmp_path: Path,
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Racing]:
    name = request.node.name[:40]
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = free_port()
    spawn("intake", f"{name}-intake")
    for n in (1, 2):
        spawn("routing", f"{name}-routing{n}", ROUTING_TIMER_POLL_INTERVAL_S="0.2")
    casework = spawn(
        "casework",
        f"{name}-casework",
        CASEWORK_HTTP_PORT=str(port),
        CASEWORK_TOKEN_PUBLIC_KEY_FILE=str(public_path),
    )
    casework.wait_for_log('"http_listening"')
    spawn("feedback", f"{name}-feedback")
    audit = spawn(
        "audit",
        f"{name}-audit",
        AUDIT_CHECKPOINT_KEY_FILE=str(ensure_checkpoint_key(infra_settings.root)),
        AUDIT_TOKEN_PUBLIC_KEY_FILE=str(public_path),
        AUDIT_HTTP_PORT=str(free_port()),
    )
    audit.wait_for_log('"http_listening"')
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield Racing(client, private_path.read_text(), stack_env)


async def settled(bootstrap: str) -> None:
    """Every service has handled every record so far, twice in a row (a decision made while
    catching up is one more record to handle)."""
    groups = {
        "intake": (REFERRAL_EVENTS,),
        "routing": (REFERRAL_EVENTS,),
        "casework": (REFERRAL_EVENTS,),
        "feedback": (REFERRAL_EVENTS,),
        "audit": LEDGERED_TOPICS,
    }
    for _ in range(3):
        for group, topics in groups.items():
            await eventually(
                lambda g=group, t=topics: caught_up(bootstrap, g, t),  # type: ignore[misc]
                f"{group} caught up",
                timeout_s=300,
            )


__all__ = ["Racing", "racing", "settled"]
