"""The auditor's pages against a fake of the audit service's API."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.unit.test_console_harness import (
    CONSOLE_URL,
    Console,
    FakeCasework,
    build_app,
    console_keys,
    fake_casework,
)

pytestmark = pytest.mark.unit
__all__ = ["console_keys", "fake_casework"]
KNOWN = uuid.uuid4()


def _entry(position: int, kind: str, category: str, **more: Any) -> dict[str, Any]:
    return {
        "position": position,
        "topic": "referral.events",
        "partition": 0,
        "offset": position,
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "event_time": "2025-06-03T11:00:00+00:00",
        "actor": "user:twc-b-0487",
        "agency": "twc-barrow",
        "category": category,
        "recipients": [],
        "purpose": None,
        "hash": "ab" * 32,
        "producer": "casework",
        "provenance": "verified",
        **more,
    }


class FakeAudit:
    ok = True

    def __init__(self) -> None:
        self.asked: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        if request.url.path == "/audit/referrals":
            activity = {
                "referral_id": str(KNOWN),
                "entries": 7,
                "consultations": 2,
                "first_at": "2025-06-03T10:00:00+00:00",
                "last_at": "2025-06-03T11:00:00+00:00",
            }
            body = {"page": 1, "page_size": 50, "total": 1, "referrals": [activity]}
            return httpx.Response(200, json=body)
        if request.url.path == "/audit/export":
            if request.url.params.get("referral") not in (None, str(KNOWN)):
                return httpx.Response(404, json={"error": "not_found", "detail": "nothing"})
            disposition = 'attachment; filename="audit-period-20250603T120000Z.jsonl"'
            return httpx.Response(
                200,
                content=b'{"kind":"header"}\n{"kind":"seal"}\n',
                headers={"content-disposition": disposition},
            )
        if request.url.path == "/audit/verification":
            body = {
                "ok": self.ok,
                "entries_verified": 120,
                "head": "cd" * 32,
                "checkpoints": 3,
                "checkpoints_verified": 3,
                "referrals": 9,
                "key_id": "k-1",
                "first_bad_entry": None if self.ok else 57,
                "findings": [] if self.ok else [{"position": 57, "reason": "hash", "detail": "x"}],
            }
            return httpx.Response(200, json=body)
        if request.url.path != f"/audit/referrals/{KNOWN}/timeline":
            return httpx.Response(404, json={"error": "not_found", "detail": "nothing"})
        entries = [
            _entry(1, "ReferralRouted", "disclosure", recipients=["agency:twc-barrow"]),
            _entry(2, "ReferralConsulted", "consultation", purpose="casework"),
            _entry(3, "ReferralAccepted", "alteration"),
            _entry(4, "ReferralClosed", "alteration", producer=None, provenance="bad_signature"),
        ]
        return httpx.Response(200, json={"referral_id": str(KNOWN), "entries": entries})


@pytest.fixture
async def auditor(
    console_keys: tuple[str, str], fake_casework: FakeCasework
) -> AsyncIterator[tuple[Console, FakeAudit]]:
    audit = FakeAudit()
    casework_http = httpx.AsyncClient(transport=httpx.MockTransport(fake_casework.handle))
    audit_http = httpx.AsyncClient(
        transport=httpx.MockTransport(audit.handle), base_url="http://audit"
    )
    app = build_app(console_keys, casework_http, audit=audit_http)
    async with (
        casework_http,
        audit_http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL) as client,
    ):
        console = Console(client, fake_casework, app)
        await console.sign_in("auditor")
        yield console, audit


async def test_an_auditor_finds_a_referral_and_sees_its_ledger_and_access_log(
    auditor: tuple[Console, FakeAudit],
) -> None:
    console, _ = auditor
    found = await console.client.get(f"/audit?referral={KNOWN}")
    assert found.headers["location"] == f"/audit/referrals/{KNOWN}"
    page = await console.client.get(found.headers["location"])
    assert page.status_code == 200
    assert page.text.count('data-label="What">Consulted</th>') == 1
    assert "The Well Communities, Barrow (agency)" in page.text
    assert '<td data-label="Purpose">Casework</td>' in page.text
    assert "Tue 3 Jun 2025, 12:00:00" in page.text
    assert page.text.count('<td data-label="Signed by">casework</td>') == 3
    assert '<td data-label="Signed by">refused: bad signature</td>' in page.text


async def test_unknown_referrals_and_bad_references_are_explained(
    auditor: tuple[Console, FakeAudit],
) -> None:
    console, _ = auditor
    missing = await console.client.get(f"/audit/referrals/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert "Nothing in the ledger" in missing.text
    bad = await console.client.get("/audit?referral=ABC123")
    assert bad.status_code == 422
    assert "full reference" in bad.text


async def test_the_verification_result_is_shown_plainly(
    auditor: tuple[Console, FakeAudit],
) -> None:
    console, audit = auditor
    assert "The ledger verifies." in (await console.client.get("/audit/verification")).text
    audit.ok = False
    broken = await console.client.get("/audit/verification")
    assert "The ledger does not verify" in broken.text
    assert "position <strong>57</strong>" in broken.text


async def test_the_ledger_entries_download_as_json(auditor: tuple[Console, FakeAudit]) -> None:
    console, _ = auditor
    response = await console.client.get(f"/audit/referrals/{KNOWN}/ledger.json")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="ledger-{KNOWN}.json"'
    )
    assert len(response.json()["entries"]) == 4


async def test_a_period_search_lists_referrals_with_activity_and_an_export_link(
    auditor: tuple[Console, FakeAudit],
) -> None:
    console, audit = auditor
    page = await console.client.get("/audit?from=2025-06-01&to=2025-06-03")
    assert page.status_code == 200
    assert f'href="/audit/referrals/{KNOWN}"' in page.text
    assert 'data-label="Entries in the period">7</td>' in page.text
    asked = audit.asked[-1].url.params
    assert asked["from"] == "2025-06-01T00:00:00+00:00"
    assert asked["to"] == "2025-06-04T00:00:00+00:00", "the last day is included"
    assert "/audit/export?from=2025-06-01T00%3A00%3A00%2B00%3A00" in page.text


async def test_a_bad_period_is_explained(auditor: tuple[Console, FakeAudit]) -> None:
    console, _ = auditor
    bad = await console.client.get("/audit?from=2025-06-03&to=2025-06-01")
    assert bad.status_code == 422
    assert "two dates" in bad.text


async def test_the_signed_export_downloads_as_the_service_sent_it(
    auditor: tuple[Console, FakeAudit],
) -> None:
    console, audit = auditor
    period = await console.client.get("/audit/export", params={"from": "2025-06-01T00:00:00+00:00"})
    assert period.status_code == 200
    assert period.content == b'{"kind":"header"}\n{"kind":"seal"}\n'
    assert period.headers["content-disposition"] == (
        'attachment; filename="audit-period-20250603T120000Z.jsonl"'
    )
    one = await console.client.get(f"/audit/export?referral={KNOWN}")
    assert one.status_code == 200
    assert audit.asked[-1].url.params["referral"] == str(KNOWN)
    missing = await console.client.get(f"/audit/export?referral={uuid.uuid4()}")
    assert missing.status_code == 404
    timeline = await console.client.get(f"/audit/referrals/{KNOWN}")
    assert f'href="/audit/export?referral={KNOWN}"' in timeline.text
