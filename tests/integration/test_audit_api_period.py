"""The auditors' API on a real ledger: the period search finds the referrals with ledger
activity in the period (and only those), pages, and is for auditors only; the export
download is the sealed file `hub audit verify --file` accepts, a changed byte fails it, and
exporting a referral records the auditor's consultation."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas.topics import ACCESS_EVENTS
from typer.testing import CliRunner

from services.audit.api.app import create_app
from services.audit.api.deps import LedgerDeps
from services.audit.signing import SigningKey
from services.hub.audit_commands import audit_app
from services.runtime.auth import (
    AUDIENCE,
    LOCAL_ISSUER,
    TokenVerifier,
    ensure_signing_keys,
    mint_token,
)
from services.runtime.clock import SystemClock
from services.runtime.db import create_pool
from tests.integration.runtime_fixtures import Schema
from tests.integration.test_audit_support import append, ledger_schema, referral_records

pytestmark = pytest.mark.integration
EARLY, LATE = uuid.uuid4(), uuid.uuid4()
ANCIENT = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class Api:
    schema: Schema
    client: httpx.AsyncClient
    private_key: str
    between: datetime
    """After EARLY's entries were ledgered, before LATE's."""

    def headers(self, role: str = "auditor", user: str = "aud-0001") -> dict[str, str]:
        token = mint_token(
            self.private_key,
            user=user,
            role=role,
            agency=None,
            force=None,
            now=datetime.now(UTC),
            lifetime=timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Api]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    async with ledger_schema(stack_env) as schema:
        await append(schema, referral_records(EARLY))
        await asyncio.sleep(0.05)
        between = await schema.fetchval("SELECT clock_timestamp()")
        await asyncio.sleep(0.05)
        await append(schema, referral_records(LATE))
        pool = await create_pool(schema.dsn, min_size=1, max_size=2)
        key = SigningKey(Ed25519PrivateKey.generate())
        verifier = TokenVerifier(public_path.read_text(), LOCAL_ISSUER, AUDIENCE)
        ledger = LedgerDeps(key.public, signing_key=key)
        app = create_app(pool, verifier, SystemClock(), ledger)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
                yield Api(schema, client, private_path.read_text(), between)
        finally:
            await pool.close()


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["referral_id"] for r in body["referrals"]]


async def test_period_search_finds_the_referrals_active_in_the_period(api: Api) -> None:
    everything = await api.client.get(
        "/audit/referrals", params={"from": ANCIENT.isoformat()}, headers=api.headers()
    )
    assert everything.status_code == 200, everything.text
    assert set(_ids(everything.json())) == {str(EARLY), str(LATE)}
    assert everything.json()["total"] == 2
    late = next(r for r in everything.json()["referrals"] if r["referral_id"] == str(LATE))
    assert late["entries"] == 5, "its own entries, not the unreadable intelligence"
    assert late["consultations"] == 1

    before = await api.client.get(
        "/audit/referrals",
        params={"from": ANCIENT.isoformat(), "to": api.between.isoformat()},
        headers=api.headers(),
    )
    assert _ids(before.json()) == [str(EARLY)]
    after = await api.client.get(
        "/audit/referrals", params={"from": api.between.isoformat()}, headers=api.headers()
    )
    assert _ids(after.json()) == [str(LATE)]
    nothing = await api.client.get(
        "/audit/referrals",
        params={"from": ANCIENT.isoformat(), "to": (ANCIENT + timedelta(days=1)).isoformat()},
        headers=api.headers(),
    )
    assert nothing.json()["referrals"] == []
    assert nothing.json()["total"] == 0


async def test_period_search_pages(api: Api) -> None:
    first = await api.client.get("/audit/referrals", params={"page_size": 1}, headers=api.headers())
    second = await api.client.get(
        "/audit/referrals", params={"page_size": 1, "page": 2}, headers=api.headers()
    )
    assert _ids(first.json()) == [str(LATE)], "most recently active first"
    assert _ids(second.json()) == [str(EARLY)]
    assert first.json()["total"] == second.json()["total"] == 2


async def test_period_search_and_export_are_for_auditors_only(api: Api) -> None:
    worker = api.headers(role="support_worker")
    assert (await api.client.get("/audit/referrals", headers=worker)).status_code == 403
    assert (await api.client.get("/audit/referrals")).status_code == 401
    exported = await api.client.get("/audit/export", params={"referral": str(LATE)}, headers=worker)
    assert exported.status_code == 403
    bad = await api.client.get("/audit/export", headers=api.headers())
    assert bad.status_code == 422
    unknown = await api.client.get(
        "/audit/export", params={"referral": str(uuid.uuid4())}, headers=api.headers()
    )
    assert unknown.status_code == 404


async def _verify_file(path: Path) -> tuple[int, str]:
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, audit_app, ["verify", "--file", str(path)])
    return result.exit_code, result.output


def _flip_one_byte(data: bytes, inside: bytes) -> bytes:
    at = data.index(inside)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


async def test_the_export_download_verifies_offline_and_a_changed_byte_fails(
    api: Api, tmp_path: Path
) -> None:
    response = await api.client.get(
        "/audit/export", params={"referral": str(LATE)}, headers=api.headers()
    )
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    assert ".jsonl" in response.headers["content-disposition"]
    good = tmp_path / "referral.jsonl"
    good.write_bytes(response.content)
    code, output = await _verify_file(good)
    assert code == 0, output
    assert "the export verifies" in output
    changed = tmp_path / "changed.jsonl"
    changed.write_bytes(_flip_one_byte(response.content, str(LATE).encode()))
    code, output = await _verify_file(changed)
    assert code == 1, output
    assert "BROKEN" in output

    period = await api.client.get(
        "/audit/export", params={"from": api.between.isoformat()}, headers=api.headers()
    )
    assert period.status_code == 200, period.text
    by_period = tmp_path / "period.jsonl"
    by_period.write_bytes(period.content)
    code, output = await _verify_file(by_period)
    assert code == 0, output
    assert str(LATE) in period.text
    assert str(EARLY) not in period.text


async def test_an_export_of_a_referral_records_the_auditors_consultation(api: Api) -> None:
    await api.client.get(
        "/audit/export", params={"referral": str(EARLY)}, headers=api.headers(user="aud-0042")
    )
    conn: asyncpg.Connection = await api.schema.connect()
    try:
        rows = await conn.fetch("SELECT key, value FROM outbox WHERE topic = $1", ACCESS_EVENTS)
    finally:
        await conn.close()
    assert len(rows) == 1
    assert bytes(rows[0]["key"]) == str(EARLY).encode()
    assert b"aud-0042" in bytes(rows[0]["value"])
