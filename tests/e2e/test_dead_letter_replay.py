"""`hub deadletters replay`: an operator re-drives a record a service refused, once what made
it refuse is fixed; the service handles it, every other consumer ignores the copy, and the
dead letter records who re-drove it and why. A forged record cannot be re-driven."""

import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import pytest
from referral_schemas import Envelope, serialize_event
from referral_schemas.topics import REFERRAL_EVENTS

from tests.e2e.test_casework_service import Running, casework_service, queue_item
from tests.support.kafka import Sent, send
from tests.support.waiting import eventually
from tests.unit.test_casework_helpers import opened, routed

pytestmark = pytest.mark.e2e

HUB = [sys.executable, "-m", "services.hub.main", "deadletters"]
WIDE = {**os.environ, "COLUMNS": "400"}


def deadletters(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], env=WIDE, capture_output=True, text=True, timeout=180)


async def publish(bootstrap: str, envelope: Envelope[Any], *, sign: bool = True) -> Sent:
    value = serialize_event(envelope)
    [sent] = await send(bootstrap, REFERRAL_EVENTS, envelope.subject, [value], sign=sign)
    return sent


async def dead_letter_of(dsn: str, sent: Sent) -> asyncpg.Record | None:
    """casework's dead letter of the record ``sent`` put on referral.events."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(
            """SELECT id, reason, replayed_at, replayed_by, replay_note FROM dead_letters
                WHERE consumer = 'casework/referral.events' AND source_topic = $1
                  AND source_partition = $2 AND source_offset = $3""",
            sent.topic,
            sent.partition,
            sent.offset,
        )
    finally:
        await conn.close()


async def test_a_refused_record_is_handled_once_re_driven_and_the_re_drive_is_recorded(
    casework_service: Running, stack_env: dict[str, str], bootstrap: str
) -> None:
    dsn = stack_env["CASEWORK_DATABASE_URL"]
    rid = uuid.uuid4()
    early = routed(rid, agency=casework_service.agency)
    sent = await publish(bootstrap, early)  # before its referral was opened: refused
    refused = await eventually(lambda: dead_letter_of(dsn, sent), "the offer dead-lettered")
    assert refused["reason"] == "unknown_referral"
    await publish(bootstrap, opened(rid))
    await eventually(
        lambda: casework_knows(dsn, rid), "casework opened the referral", timeout_s=120
    )
    assert await queue_item(casework_service, rid) is None, "not offered to the agency yet"

    done = deadletters("replay", f"casework-{refused['id']}", "--note", "opened since")

    assert done.returncode == 0, done.stderr
    assert f"re-driven casework-{refused['id']}" in done.stdout
    item = await eventually(
        lambda: queue_item(casework_service, rid), "the offer reached the queue", timeout_s=120
    )
    assert item["status"] == "awaiting_acceptance"
    recorded = await dead_letter_of(dsn, sent)
    assert recorded is not None
    assert recorded["replayed_at"] is not None
    assert recorded["replayed_by"].startswith("operator:")
    assert recorded["replay_note"] == "opened since"
    listing = deadletters("list", "--limit", "10000").stdout
    row = next(line for line in listing.splitlines() if f"casework-{refused['id']} " in line)
    assert "by operator:" in row


async def casework_knows(dsn: str, rid: uuid.UUID) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval("SELECT 1 FROM referrals WHERE referral_id = $1", rid)
        return found is not None
    finally:
        await conn.close()


async def test_a_forged_record_cannot_be_re_driven_and_bad_ids_are_explained(
    casework_service: Running, stack_env: dict[str, str], bootstrap: str
) -> None:
    dsn = stack_env["CASEWORK_DATABASE_URL"]
    forged = routed(uuid.uuid4(), agency=casework_service.agency)
    sent = await publish(bootstrap, forged, sign=False)
    refused = await eventually(lambda: dead_letter_of(dsn, sent), "the forgery refused")
    assert refused["reason"] == "bad_signature"

    done = deadletters("replay", f"casework-{refused['id']}", "--note", "try anyway")

    assert done.returncode != 0
    assert "bad_signature" in done.stderr
    unchanged = await dead_letter_of(dsn, sent)
    assert unchanged is not None
    assert unchanged["replayed_at"] is None
    for wrong in ("casework", "nobody-3", "casework-x"):
        said = deadletters("replay", wrong, "--note", "n")
        assert said.returncode == 2
        assert "not a dead letter id" in said.stderr
    missing = deadletters("replay", "casework-999999999", "--note", "n")
    assert missing.returncode == 2
    assert "no dead letter 999999999" in missing.stderr


__all__ = ["casework_service"]
