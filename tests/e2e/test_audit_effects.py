"""The audit service as its own process on the real broker and database: a referral's
timeline over the auditors' API, and its sealed export, mark each event the shared lifecycle
refused as "no effect: <code>" (read back from Kafka and folded in log order); the ledger
entries themselves are unchanged and the export still verifies. Events are published on
referral.events as intake, routing and casework would publish them."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas import CancellationReason
from referral_schemas.topics import REFERRAL_EVENTS

from infra.settings import InfraSettings
from services.audit.signing import ensure_checkpoint_key
from services.audit_tools.file_check import verify_file
from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.lifecycle_support import Staff, free_port
from tests.support.kafka import send
from tests.support.referral_log import AGENCY, OTHER_AGENCY, ReferralLog, published
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def auditor(
    spawn: Spawn, tmp_path: Path, infra_settings: InfraSettings
) -> AsyncIterator[Staff]:
    """An auditor using one audit instance's API."""
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = free_port()
    audit = spawn(
        "audit",
        "audit-effects",
        AUDIT_CHECKPOINT_KEY_FILE=str(ensure_checkpoint_key(infra_settings.root)),
        AUDIT_TOKEN_PUBLIC_KEY_FILE=str(public_path),
        AUDIT_HTTP_PORT=str(port),
    )
    audit.wait_for_log('"http_listening"')
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield Staff(client, private_path.read_text(), "auditor-7", "auditor")


async def test_events_after_a_cancellation_are_shown_as_having_no_effect(
    bootstrap: str, auditor: Staff
) -> None:
    log = ReferralLog(ref=f"CUM/AUD/{uuid.uuid4().hex[:8]}")
    events = [
        log.opened(),
        log.routed(AGENCY),
        log.cancelled(CancellationReason.MOVED_AWAY, hours=1),
        log.routed(OTHER_AGENCY, hours=2),  # routing decided on the open; it landed late
        log.accepted(OTHER_AGENCY, hours=3),
    ]
    rid = str(log.referral_id)
    await send(bootstrap, REFERRAL_EVENTS, rid, [published(e, log.referral_id) for e in events])

    async def ledgered() -> list[dict[str, Any]] | None:
        response = await auditor.client.get(
            f"/audit/referrals/{rid}/timeline", headers=auditor.headers()
        )
        if response.status_code != 200:
            return None
        entries = [e for e in response.json()["entries"] if e["topic"] == REFERRAL_EVENTS]
        return entries if len(entries) == len(events) else None

    entries: list[dict[str, Any]] = await eventually(
        ledgered, "the referral's events ledgered", timeout_s=300
    )
    assert [(e["type"], e["effect"]) for e in entries] == [
        ("ReferralOpened", "applied"),
        ("ReferralRouted", "applied"),
        ("ReferralCancelled", "applied"),
        ("ReferralRouted", "no effect: referral_cancelled"),
        ("ReferralAccepted", "no effect: referral_cancelled"),
    ]

    response = await auditor.client.get(
        "/audit/export", params={"referral": rid}, headers=auditor.headers()
    )
    assert response.status_code == 200, response.text
    assert response.content.count(b'"effect":"no effect: referral_cancelled"') == 2
    checked = verify_file(response.content)
    assert checked.ok, checked.problems
