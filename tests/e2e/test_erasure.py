"""Erasure end to end (docs/privacy.md): a person with unmistakable names is referred, their
referral worked and closed, then `hub erase` destroys its keys. Their names are then in no
file of the broker (every topic's segments, the force's raw record included), no table of
any service (pg_dump), no service log and no audit export; the ledger still verifies, a
replay still matches, the worker sees "erased" and the police kept their outcome."""

import asyncio
import json
import os
import random
import string
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from referral_schemas.topics import (
    ACCESS_EVENTS,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra import postgres_local
from infra.database import DATABASE, with_database
from infra.settings import InfraSettings
from infra.topics import durability, topic_specs
from services.audit.ledgered import LEDGERED_TOPICS
from services.audit.signing import ensure_checkpoint_key
from services.hub.topic_reader import partition_for
from services.runtime.auth import ensure_signing_keys
from services.runtime.topic_reading import partitions, read_to_end
from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_for_referral
from tests.e2e.lifecycle_races_support import Person
from tests.e2e.lifecycle_support import directory_in_force, free_port, sees, start_system
from tests.e2e.lifecycle_system import System, data_of, open_referral, outcome_for, types_of
from tests.support.intelligence import key_of, submitted
from tests.support.kafka import caught_up, watch
from tests.support.kafka_auth import access, client_kwargs
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

HUB = [sys.executable, "-m", "services.hub.main"]
WIDE = {**os.environ, "COLUMNS": "400"}


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], env=WIDE, capture_output=True, text=True, timeout=300)


def _unmistakable(prefix: str) -> str:
    return prefix + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


@pytest.fixture
async def people(
    spawn: Spawn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    """Every service that consumes (audit apart: ``audit_running``), and people acting
    through casework's API. A test marked ``intake_env`` starts intake with those settings."""
    private_path, public_path = ensure_signing_keys(tmp_path)
    marker = request.node.get_closest_marker("intake_env")
    intake_env: dict[str, str] = marker.kwargs if marker else {}
    port = start_system(spawn, "erasure", public_path, **intake_env)
    insights = spawn(
        "insights",
        "erasure-insights",
        INSIGHTS_HTTP_PORT=str(free_port()),
        INSIGHTS_TOKEN_PUBLIC_KEY_FILE=str(public_path),
    )
    insights.wait_for_log('"http_listening"')
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield System(client, private_path.read_text())


@pytest.fixture
def audit_running(spawn: Spawn, infra_settings: InfraSettings, people: System) -> None:
    """The audit service beside the system: the ledger the erasure must leave verifiable."""
    audit = spawn(
        "audit",
        "erasure-audit",
        AUDIT_CHECKPOINT_KEY_FILE=str(ensure_checkpoint_key(infra_settings.root)),
        AUDIT_HTTP_PORT=str(free_port()),
        AUDIT_CHECKPOINT_INTERVAL_S="1",
    )
    audit.wait_for_log('"http_listening"')


async def _worked_and_closed(worker: Person, rid: str) -> None:
    await sees(worker, rid, status="awaiting_acceptance")
    for action, body in (
        ("accept", {}),
        ("contact-attempts", {"method": "phone", "result": "spoke_to_person"}),
        ("visits", {}),
        ("complete", {"outcome": "engaged_with_support"}),
        ("close", {}),
    ):
        answer = await worker.post(rid, action, body)
        assert answer.status_code == 200, f"{action}: {answer.text}"


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n.decode()}" for n in needles if n in data]
    return found


async def _short_intelligence_segments(bootstrap: str, replication: int, *, short: bool) -> None:
    """Let police.intelligence close a segment at the first record after half a second, not
    after an hour (``short``: an hour passing, in a test), or put it back as `hub infra up`
    sets it."""
    (spec,) = [s for s in topic_specs() if s.name == POLICE_INTELLIGENCE]
    config = {**durability(replication), **spec.config}
    if short:
        config["segment.ms"] = "500"
    admin = AIOKafkaAdminClient(**client_kwargs(bootstrap))
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, POLICE_INTELLIGENCE, config)
        for response in await admin.alter_configs([resource]):
            assert [code for code, *_ in response.resources] == [0]
    finally:
        await admin.close()


async def _same_partition_as(bootstrap: str, message: dict[str, Any]) -> dict[str, Any]:
    """A stranger's intelligence that lands in the partition ``message`` landed in."""
    kafka = access(bootstrap)
    numbers = [tp.partition for tp in await partitions(kafka, (POLICE_INTELLIGENCE,))]
    wanted = partition_for(key_of(message), numbers)
    while True:
        stranger = submitted()
        if partition_for(key_of(stranger), numbers) == wanted:
            return stranger


def _pg_dump(env: dict[str, str]) -> bytes:
    """Every schema's data, as the database superuser sees it."""
    dsn = with_database(env["HUB_ADMIN_DATABASE_URL"], DATABASE)
    argv = [str(postgres_local.bin_dir() / "pg_dump"), "--data-only", dsn]
    return subprocess.run(argv, capture_output=True, timeout=300, check=True).stdout


async def _settled(bootstrap: str) -> None:
    async def audit_done() -> bool:
        return await caught_up(bootstrap, "audit", LEDGERED_TOPICS)

    async def casework_done() -> bool:
        return await caught_up(bootstrap, "casework", (REFERRAL_EVENTS,))

    await eventually(audit_done, "audit caught up")
    await eventually(casework_done, "casework caught up")


async def test_an_erased_person_is_nowhere_yet_the_trail_verifies_and_police_keep_the_outcome(
    bootstrap: str,
    people: System,
    audit_running: None,
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    service_logs: Path,
    tmp_path: Path,
) -> None:
    await directory_in_force(bootstrap)
    given, family = _unmistakable("Zephyrine"), _unmistakable("Quillfeather")
    street = _unmistakable("Marrowbone")
    message = submitted()
    message["data"]["subject"].update(given_name=given, family_name=family)
    message["data"]["address"]["line1"] = f"7 {street} Lane"
    needles = [given.encode(), family.encode(), street.encode()]

    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid = await open_referral(bootstrap, events, message)
        worker = people.staff((await data_of(events, "ReferralRouted", rid))["agency"])
        shown = await sees(worker, rid)
        assert (shown["subject"]["given_name"], shown["subject"]["family_name"]) == (
            given,
            family,
        ), "casework, and casework alone, opens the sealed details"
        await _worked_and_closed(worker, rid)
        outcome = await outcome_for(outcomes, rid)
        await events.wait_for(event_for_referral("ReferralClosed", rid))

        for group in ("intake", "insights", "audit"):  # all read the raw record by now
            await eventually(
                lambda g=group: caught_up(bootstrap, g, (POLICE_INTELLIGENCE,)),  # type: ignore[misc]
                f"{group} read {POLICE_INTELLIGENCE}",
            )
        erased = hub("erase", rid, "--reason", "Erasure request ER-0042 upheld")
        assert erased.returncode == 0, erased.stderr
        assert f"erased: referral {rid} (1 data key(s) destroyed" in erased.stdout
        assert "the force's raw records taken off the log" in erased.stdout
        record = await data_of(events, "PersonalDataErased", rid)
    assert (record["scope"], record["reason"], record["keys_destroyed"]) == (
        "referral",
        "Erasure request ER-0042 upheld",
        1,
    )

    # The worker sees that the person's details were erased, and the history stays.
    async def erased_shown() -> dict[str, Any] | None:
        body: dict[str, Any] = (await worker.detail(rid)).json()
        return body if body["personal_details_erased_at"] else None

    after = await eventually(erased_shown, "casework shows the erasure")
    assert (after["subject"], after["address"], after["status"]) == (None, None, "closed")
    assert "PersonalDataErased" in [entry["type"] for entry in after["timeline"]]
    # The police kept their outcome, with their reference.
    assert outcome["outcome"] == "engaged_with_support"
    assert message["data"]["intelligence_ref"] in outcome["intelligence_refs"]

    await _settled(bootstrap)
    # The force's raw record is off the log: no reader gets it any more.
    kafka = access(bootstrap)
    wanted = await partitions(kafka, (POLICE_INTELLIGENCE,))
    raw = [r async for r in read_to_end(kafka, wanted) if r.key == key_of(message).encode()]
    assert raw == []
    # Its bytes leave the disk once its segment closes: at the partition's next record after
    # segment.ms (an hour; half a second here), then the broker's retention check deletes it.
    kafka_dir = infra_settings.root / "kafka"
    replication = infra_settings.kafka_replication
    await _short_intelligence_segments(bootstrap, replication, short=True)
    try:
        await asyncio.sleep(1)
        async with watch(bootstrap, REFERRAL_EVENTS) as later:
            await open_referral(bootstrap, later, await _same_partition_as(bootstrap, message))

        async def off_the_disk() -> bool:
            return _files_holding(kafka_dir, needles) == []

        await eventually(off_the_disk, "the erased names left every broker file", timeout_s=150)
    finally:
        await _short_intelligence_segments(bootstrap, replication, short=False)
    topics = {p.name.rsplit("-", 1)[0] for p in kafka_dir.rglob("*-[0-9]*") if p.is_dir()}
    assert {REFERRAL_EVENTS, POLICE_OUTCOMES, ACCESS_EVENTS, POLICE_INTELLIGENCE} <= topics, (
        "the broker's folders were searched"
    )

    dump = _pg_dump(stack_env)
    assert dump, "pg_dump dumped something"
    assert [n for n in needles if n in dump] == []
    assert _files_holding(service_logs, needles) == []

    export = tmp_path / "export.jsonl"
    exported = hub("audit", "export", "-o", str(export), "--referral", rid)
    assert exported.returncode == 0, exported.stderr
    text = export.read_bytes()
    assert b"PersonalDataErased" in text
    assert [n for n in needles if n in text] == []
    categories = [json.loads(line).get("category") for line in text.splitlines() if line]
    assert "erasure" in categories

    verified = hub("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    replayed = hub("audit", "replay", "--referral", rid)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


async def test_erase_refuses_what_it_cannot_do_and_says_why(bootstrap: str, people: System) -> None:
    await directory_in_force(bootstrap)
    unknown = hub("erase", str(uuid.uuid4()), "--reason", "test")
    assert unknown.returncode == 2
    assert "no referral" in unknown.stderr
    blank = hub("erase", str(uuid.uuid4()), "--reason", "  ")
    assert blank.returncode == 2
    assert "--reason" in blank.stderr
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, submitted())
        await data_of(events, "ReferralRouted", rid)
        still_open = hub("erase", rid, "--reason", "test")
        assert still_open.returncode == 2
        assert "has not ended" in still_open.stderr
        await asyncio.sleep(1)
    assert "ErasureRequested" not in [
        r.json()["type"] for r in events.records if r.key == rid.encode()
    ]


RETENTION_DAYS = 0.0002
"""About 17 seconds: the period the retention test runs intake with."""


@pytest.mark.intake_env(
    INTAKE_RETENTION_ENDED_REFERRAL_DAYS=str(RETENTION_DAYS), INTAKE_RETENTION_INTERVAL_S="1"
)
async def test_the_retention_job_erases_a_referral_its_period_after_it_ended(
    bootstrap: str, people: System
) -> None:
    await directory_in_force(bootstrap)
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, submitted())
        worker = people.staff((await data_of(events, "ReferralRouted", rid))["agency"])
        await _worked_and_closed(worker, rid)
        closed = await events.wait_for(event_for_referral("ReferralClosed", rid))
        open_now = await open_referral(bootstrap, events, submitted())
        record = await data_of(events, "PersonalDataErased", rid)
    assert (record["scope"], record["requested_by"], record["keys_destroyed"]) == (
        "retention",
        "retention",
        1,
    )
    ended_at = datetime.fromisoformat(closed[0].json()["time"])
    erased_at = datetime.fromisoformat(record["erased_at"])
    assert erased_at - ended_at >= timedelta(days=RETENTION_DAYS), "not before its period"
    assert "PersonalDataErased" not in types_of(events, open_now), "an open one stays"
    body = await eventually(lambda: _erased_detail(worker, rid), "casework shows the erasure")
    assert (body["subject"], body["personal_details_erased_at"] is not None) == (None, True)
    status = hub("retention", "status", "--limit", "0")
    assert status.returncode == 0, status.stderr
    # The stack's own period (this test's intake ran with a shorter one), and the count.
    assert "730 days after the referral ended" in status.stdout
    assert " erased, " in status.stdout


async def _erased_detail(worker: Person, rid: str) -> dict[str, Any] | None:
    body: dict[str, Any] = (await worker.detail(rid)).json()
    return body if body.get("personal_details_erased_at") else None


async def test_erasing_a_person_erases_every_referral_intake_matched_to_them(
    bootstrap: str, people: System
) -> None:
    await directory_in_force(bootstrap)
    first = submitted()
    again = submitted(subject=first["data"]["subject"], address=first["data"]["address"])
    stranger = submitted()
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        rid = await open_referral(bootstrap, events, first)
        worker = people.staff((await data_of(events, "ReferralRouted", rid))["agency"])
        await _worked_and_closed(worker, rid)
        await events.wait_for(event_for_referral("ReferralClosed", rid))
        await asyncio.sleep(1)  # intake learns of the closure from the log
        later = await open_referral(bootstrap, events, again)  # names the first as previous
        other = await open_referral(bootstrap, events, stranger)
        later_worker = people.staff((await data_of(events, "ReferralRouted", later))["agency"])
        erased = hub("erase", rid, "--person", "--even-if-open", "--reason", "ER-0043 upheld")
        assert erased.returncode == 0, erased.stderr
        lead = await data_of(events, "PersonalDataErased", rid)
        follower = await data_of(events, "PersonalDataErased", later)
    assert (lead["scope"], lead["with_referrals"]) == ("person", [later])
    assert follower["cause_referral_id"] == rid
    assert f"erased: referral {later}" in erased.stdout
    assert "PersonalDataErased" not in types_of(events, other), "nobody else"
    shown = await eventually(
        lambda: _erased_detail(later_worker, later), "the later one erased too"
    )
    assert shown["status"] == "awaiting_acceptance", "erasure changes no status"
