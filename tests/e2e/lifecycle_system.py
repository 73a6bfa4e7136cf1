"""The whole system for the lifecycle-defect tests: intake, routing, casework and feedback as
separate processes; people acting through casework's API; and a way to put an event on the
log as a service would have, to pin down where a race lands."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas import EventData, make_envelope, serialize_event
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_about, event_for_referral
from tests.e2e.lifecycle_races_support import Person
from tests.e2e.lifecycle_support import start_system
from tests.support.intelligence import encode, key_of
from tests.support.kafka import TopicWatch, send


@dataclass
class System:
    client: httpx.AsyncClient
    private_key: str

    def staff(self, agency: str, user: str = "worker-1", role: str = "support_worker") -> Person:
        return Person(self.client, self.private_key, user, role, agency=agency)

    def police(self, force: str = "cumbria") -> Person:
        return Person(self.client, self.private_key, "coord-1", "police_coordinator", force=force)


@pytest.fixture
async def system(
    spawn: Spawn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = start_system(spawn, request.node.name[:40], public_path)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield System(client, private_path.read_text())


async def open_referral(bootstrap: str, events: TopicWatch, message: dict[str, Any]) -> str:
    """Send the intelligence; returns the id of the referral it opened."""
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["data"]["referral_id"])


async def data_of(events: TopicWatch, event_type: str, rid: str, nth: int = 1) -> dict[str, Any]:
    found = await events.wait_for(event_for_referral(event_type, rid), count=nth)
    data: dict[str, Any] = found[nth - 1].json()["data"]
    return data


def types_of(events: TopicWatch, rid: str) -> list[str]:
    return [r.json()["type"] for r in events.records if r.key == rid.encode()]


async def land(bootstrap: str, event: EventData, *, service: str) -> None:
    """Put ``event`` on referral.events as ``service`` would have published it: a decision
    made before the service saw what is already on the log, landing after it."""
    rid = event.kafka_key()
    envelope = make_envelope(
        event,
        id=uuid.uuid4(),
        source=f"referral-hub/{service}",
        time=datetime.now(UTC),
        subject=rid,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=f"system:{service}",
    )
    await send(bootstrap, REFERRAL_EVENTS, rid, [serialize_event(envelope)])


async def opened_id(events: TopicWatch, message: dict[str, Any]) -> str:
    """The id of the referral that ``message`` (already sent) opened."""
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["subject"])


async def outcome_for(outcomes: TopicWatch, rid: str) -> dict[str, Any]:
    """The first OutcomeReported about ``rid`` on police.outcomes."""
    found = await outcomes.wait_for(lambda r: r.key == rid.encode())
    data: dict[str, Any] = found[0].json()["data"]
    return data
