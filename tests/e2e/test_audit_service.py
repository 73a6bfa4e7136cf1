"""The audit service beside the whole system, as separate processes on the real broker and
database: one ledger entry per published record, a chain that verifies under the signed
checkpoints, one consultation entry per read naming the reader, an auditors' API, and a
replay from offset 0 that reproduces casework's live state and the SLA events of the log."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from referral_schemas.topics import (
    ACCESS_EVENTS,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra.settings import InfraSettings
from services.audit.ledgered import LEDGERED_TOPICS
from services.audit.signing import ensure_checkpoint_key, load_public_key
from services.audit.verification import verify_database
from services.replay.folds import Scope
from services.replay.run import run_replay
from services.replay.scratch import Scratch, project_admin_dsn, tables_in
from services.runtime.auth import ensure_signing_keys
from services.runtime.db import connect
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_about, event_for_referral
from tests.e2e.lifecycle_support import (
    Staff,
    directory_in_force,
    free_port,
    sees,
    start_system,
)
from tests.support.directory import cumbria_directory
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import TopicWatch, caught_up, send, watch
from tests.support.kafka_auth import access
from tests.support.provenance import trust_of
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@dataclass
class Audited:
    client: httpx.AsyncClient
    audit: httpx.AsyncClient
    private_key: str
    env: dict[str, str]
    key_file: Path

    def staff(self, agency: str, user: str, role: str = "support_worker") -> Staff:
        return Staff(self.client, self.private_key, user, role, agency=agency)

    def auditor(self, user: str) -> Staff:
        return Staff(self.audit, self.private_key, user, "auditor")


@pytest.fixture
async def audited(
    spawn: Spawn,
    tmp_path: Path,
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Audited]:
    name = request.node.name[:40]
    private_path, public_path = ensure_signing_keys(tmp_path)
    port = start_system(spawn, name, public_path)
    audit_port = free_port()
    key_file = ensure_checkpoint_key(infra_settings.root)  # what `hub infra up` would make
    audit = spawn(
        "audit",
        f"{name}-audit",
        AUDIT_CHECKPOINT_KEY_FILE=str(key_file),
        AUDIT_TOKEN_PUBLIC_KEY_FILE=str(public_path),
        AUDIT_HTTP_PORT=str(audit_port),
        AUDIT_CHECKPOINT_INTERVAL_S="1",
    )
    audit.wait_for_log('"http_listening"')
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{audit_port}", timeout=60) as api,
    ):
        yield Audited(client, api, private_path.read_text(), stack_env, key_file)


async def _settled(bootstrap: str) -> None:
    """Audit has ledgered everything and casework folded everything, twice in a row (a
    checkpoint signed meanwhile is one more record to ledger)."""
    for _ in range(2):
        await eventually(lambda: caught_up(bootstrap, "audit", LEDGERED_TOPICS), "audit caught up")
        await eventually(
            lambda: caught_up(bootstrap, "casework", (REFERRAL_EVENTS,)), "casework caught up"
        )
        await asyncio.sleep(2)


def _barrow_only_twc() -> list[dict[str, Any]]:
    agencies: list[dict[str, Any]] = cumbria_directory(1)["agencies"]
    for agency in agencies:
        if agency["code"] == "cumbria-recovery-south":
            agency["areas"] = ["kendal"]
    return agencies


async def _open(bootstrap: str, events: TopicWatch) -> str:
    message = submitted()
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    return str(opened.json()["data"]["referral_id"])


async def _ledger_rows(env: dict[str, str], rid: str) -> list[asyncpg.Record]:
    conn = await connect(env["AUDIT_DATABASE_URL"])
    try:
        return list(
            await conn.fetch(
                """SELECT position, topic, partition, "offset", type, category, actor, purpose,
                          recipients FROM ledger WHERE referral_id = $1 ORDER BY position""",
                uuid.UUID(rid),
            )
        )
    finally:
        await conn.close()


async def test_the_ledger_holds_one_entry_per_record_and_one_consultation_per_read(
    bootstrap: str, audited: Audited
) -> None:
    await directory_in_force(bootstrap, agencies=_barrow_only_twc())
    worker = audited.staff("twc-barrow", "worker-1")
    reader = audited.staff("twc-barrow", f"reader-{uuid.uuid4().hex[:8]}")
    auditor = audited.auditor(f"auditor-{uuid.uuid4().hex[:8]}")
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
        watch(bootstrap, ACCESS_EVENTS) as access,
    ):
        rid = await _open(bootstrap, events)
        await sees(worker, rid, status="awaiting_acceptance")
        for action, body in (
            ("accept", {}),
            ("contact-attempts", {"method": "phone", "result": "spoke_to_person"}),
            ("visits", {}),
            ("complete", {"outcome": "engaged_with_support"}),
            ("close", {}),
        ):
            await worker.act(rid, action, body)
        await outcomes.wait_for(event_for_referral("OutcomeReported", rid))
        for _ in range(3):
            assert (await reader.detail(rid)).status_code == 200

        async def ledgered() -> httpx.Response | None:
            # The audit consumer may still be catching up with the topics' history.
            answer = await audited.audit.get(
                f"/audit/referrals/{rid}/timeline", headers=auditor.headers()
            )
            return answer if answer.status_code == 200 else None

        timeline = await eventually(ledgered, "the ledger holds the referral", timeout_s=300)
        assert timeline.status_code == 200, timeline.text
        forbidden = await audited.audit.get(
            f"/audit/referrals/{rid}/timeline", headers=worker.headers()
        )
        assert forbidden.status_code == 403
        assert (await audited.audit.get("/audit/verification")).status_code == 401
        await _settled(bootstrap)
        published = [
            (topic, r.partition, r.offset)
            for topic, watched in (
                (REFERRAL_EVENTS, events),
                (POLICE_OUTCOMES, outcomes),
                (ACCESS_EVENTS, access),
            )
            for r in await watched.drain(quiet_s=1.0)
            if r.key == rid.encode()
        ]
    rows = await _ledger_rows(audited.env, rid)
    assert sorted((r["topic"], r["partition"], r["offset"]) for r in rows) == sorted(published)
    reads = [r for r in rows if r["actor"] == f"user:{reader.user}"]
    assert [(r["category"], r["purpose"]) for r in reads] == [("consultation", "casework")] * 3
    audits = [r for r in rows if r["actor"] == f"user:{auditor.user}"]
    assert [(r["category"], r["purpose"]) for r in audits] == [("consultation", "audit")]
    routed = [r for r in rows if r["type"] == "ReferralRouted"]
    assert [(r["category"], r["recipients"]) for r in routed] == [
        ("disclosure", ["agency:twc-barrow"])
    ]
    shown = [e["type"] for e in timeline.json()["entries"]]
    assert shown[:3] == ["IntelligenceSubmitted", "ReferralOpened", "ReferralRouted"]
    conn = await connect(audited.env["AUDIT_DATABASE_URL"])
    try:
        result = await verify_database(conn, load_public_key(audited.key_file))
    finally:
        await conn.close()
    assert result.ok, result.findings
    assert result.checkpoints_verified >= 1
    api = await audited.audit.get("/audit/verification", headers=auditor.headers())
    assert api.json()["ok"] is True


async def test_replay_from_offset_zero_reproduces_casework_and_the_sla_events_of_the_log(
    bootstrap: str, audited: Audited
) -> None:
    await directory_in_force(bootstrap, acceptance="PT2S")
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await _open(bootstrap, events)
        await events.wait_for(event_for_referral("ReferralEscalated", rid))
        await _settled(bootstrap)
        breaches = [
            r
            for r in await events.drain(quiet_s=1.0)
            if r.key == rid.encode() and r.json()["type"] == "SlaBreached"
        ]
    env = audited.env
    admin = project_admin_dsn(env["HUB_ADMIN_DATABASE_URL"])
    seen: dict[str, tuple[bool, int]] = {}

    async def observe(phase: str, scratch: Scratch) -> None:
        conn = await asyncpg.connect(admin)
        try:
            exists = await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", scratch.name
            )
            seen[phase] = (exists == 1, await tables_in(conn, scratch.name))
        finally:
            await conn.close()

    one = await run_replay(
        access(bootstrap),
        env["AUDIT_DATABASE_URL"],
        env["CASEWORK_DATABASE_URL"],
        Scope(uuid.UUID(rid)),
        admin_dsn=admin,
        trust=trust_of(env),
        observe=observe,
    )
    assert seen["created"] == (True, 0), "the scratch schema exists and is empty at the start"
    assert seen["filled"][0]
    assert seen["filled"][1] > 0
    assert one.scratch_schema.startswith("replay_")
    assert one.casework.same, one.casework.differences
    assert one.casework.compared == 1
    assert one.casework.rebuilt_digest == one.casework.live_digest
    assert one.sla_breaches == {uuid.UUID(rid): len(breaches)}
    assert len(breaches) >= 1
    assert one.ledger.same, one.ledger.differences
    assert one.ledger.rebuilt_digest == one.ledger.live_digest
    everything = await run_replay(
        access(bootstrap),
        env["AUDIT_DATABASE_URL"],
        env["CASEWORK_DATABASE_URL"],
        Scope(),
        admin_dsn=admin,
        trust=trust_of(env),
        keep=True,
    )
    try:
        assert everything.casework.same, everything.casework.differences
        assert everything.casework.rebuilt_digest == everything.casework.live_digest
        assert everything.ledger.same, everything.ledger.differences
        assert everything.ledger.rebuilt_digest == everything.ledger.live_digest
        # The recomputed chain matches through the last entry: each entry rebuilt from its
        # record, or taken as the ledger holds it where the record has left the topic (past
        # retention, or taken off police.intelligence by an erasure earlier in the run).
        ledger = everything.ledger
        assert ledger.matched_through == ledger.entries_compared + ledger.expired
        conn = await asyncpg.connect(admin)
        try:
            kept = await conn.fetchval(
                f"SELECT count(*) FROM {everything.scratch_schema}.referrals"
            )
        finally:
            await conn.close()
        assert kept == everything.casework.compared
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {everything.scratch_schema} CASCADE")
        finally:
            await conn.close()
