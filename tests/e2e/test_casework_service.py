"""casework as its own process on the real broker: referral events in, a staff queue over
HTTP, staff actions out on referral.events, reads recorded on hub.access."""

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas import CancellationReason, Envelope, serialize_event
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

from services.runtime.auth import ensure_signing_keys, mint_token
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_for_referral
from tests.support.kafka import send, watch
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually
from tests.unit.test_casework_helpers import cancelled, opened, routed

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    process: ServiceProcess
    client: httpx.AsyncClient
    private_key: str
    agency: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        token = mint_token(
            self.private_key,
            user="worker-e2e",
            role="support_worker",
            agency=self.agency,
            force=None,
            now=datetime.now(UTC),
            lifetime=timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}


@pytest.fixture
async def casework_service(spawn: Spawn, tmp_path: Path) -> AsyncIterator[Running]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = _free_port()
    process = spawn(
        "casework",
        f"casework-{port}",
        CASEWORK_HTTP_PORT=str(port),
        CASEWORK_TOKEN_PUBLIC_KEY_FILE=str(public_path),
    )
    process.wait_for_log('"http_listening"')
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield Running(process, client, private_path.read_text(), f"ag-{uuid.uuid4().hex[:10]}")


async def publish(bootstrap: str, *envelopes: Envelope[Any]) -> None:
    for envelope in envelopes:
        await send(bootstrap, REFERRAL_EVENTS, envelope.subject, [serialize_event(envelope)])


async def queue_item(service: Running, rid: uuid.UUID) -> Any:
    response = await service.client.get("/referrals", headers=service.headers())
    assert response.status_code == 200, response.text
    return next((i for i in response.json()["items"] if i["referral_id"] == str(rid)), None)


async def test_routed_referral_is_accepted_once_then_cancelled(
    bootstrap: str, casework_service: Running
) -> None:
    service, rid = casework_service, uuid.uuid4()
    await publish(bootstrap, opened(rid), routed(rid, agency=service.agency))
    item = await eventually(lambda: queue_item(service, rid), "the referral reached the queue")
    assert item["status"] == "awaiting_acceptance"

    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        answers = [
            await service.client.post(
                f"/referrals/{rid}/accept", headers=service.headers(key=f"accept-{rid}")
            )
            for _ in range(2)
        ]
        assert [a.status_code for a in answers] == [200, 200]
        [accepted] = await events.wait_for(event_for_referral("ReferralAccepted", str(rid)))
        await events.drain(quiet_s=3.0)
        copies = [r for r in events.records if event_for_referral("ReferralAccepted", str(rid))(r)]
    assert len(copies) == 1
    assert accepted.key == str(rid).encode()
    assert (accepted.json()["actor"], accepted.json()["agency"]) == (
        "user:worker-e2e",
        service.agency,
    )

    await publish(bootstrap, cancelled(rid, CancellationReason.INTELLIGENCE_WITHDRAWN))

    async def is_cancelled() -> Any:
        found = await queue_item(service, rid)
        return found if found and found["status"] == "cancelled" else None

    item = await eventually(is_cancelled, "the queue shows the referral cancelled")
    assert item["cancel_reason"] == "intelligence_withdrawn"


async def test_a_detail_read_is_published_on_hub_access(
    bootstrap: str, casework_service: Running
) -> None:
    service, rid = casework_service, uuid.uuid4()
    await publish(bootstrap, opened(rid), routed(rid, agency=service.agency))
    await eventually(lambda: queue_item(service, rid), "the referral reached the queue")
    async with watch(bootstrap, ACCESS_EVENTS) as access:
        response = await service.client.get(f"/referrals/{rid}", headers=service.headers())
        assert response.status_code == 200
        [record] = await access.wait_for(event_for_referral("ReferralConsulted", str(rid)))
    assert record.json()["data"]["user"] == "worker-e2e"


async def test_sigterm_stops_the_http_server_and_the_service_cleanly(
    casework_service: Running,
) -> None:
    service = casework_service
    assert (await service.client.get("/referrals", headers=service.headers())).status_code == 200
    service.process.stop()
    service.process.wait_for_log('"service_stopped"', timeout_s=5)
    assert '"level": "error"' not in service.process.log_path.read_text()
    with pytest.raises(httpx.TransportError):
        await service.client.get("/referrals", headers=service.headers())
