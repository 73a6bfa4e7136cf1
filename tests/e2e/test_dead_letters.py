"""Bad input is never dropped and never stops intake: each message lands on the dead-letter
topic, unchanged, with a specific machine-readable reason, and the next message is handled."""

import copy
import json
from typing import Any

import asyncpg
import pytest
from referral_schemas.topics import DEAD_LETTER, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import event_about
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import send, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


def _variant(base: dict[str, Any], change: str) -> bytes:
    message = copy.deepcopy(base)
    data = message["data"]
    if change == "wrong schema version":
        message["schemaversion"] = 99
    elif change == "missing field":
        del data["address"]
    elif change == "extra field":
        data["favourite_colour"] = "blue"
    elif change == "2 MB payload":
        data["narrative"] = "x" * (2 * 1024 * 1024)
    elif change == "control character":
        data["subject"]["given_name"] = "Ann\u0007e"
    elif change == "bad date":
        data["recorded_at"] = "last Tuesday"
    elif change == "wrong type":
        data["indicators"] = "cuckooing"
    return json.dumps(message).encode()


EXPECTED = [
    ("not JSON", "not_json"),
    ("wrong schema version", "unsupported_schema_version"),
    ("missing field", "missing_field"),
    ("extra field", "unknown_field"),
    ("2 MB payload", "too_large"),
    ("control character", "control_character"),
    ("bad date", "bad_date"),
    ("wrong type", "wrong_type"),
]


async def test_each_malformed_message_is_dead_lettered_with_its_reason_and_intake_goes_on(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    good = submitted()
    bad: list[bytes] = []
    for change, _ in EXPECTED:
        if change == "not JSON":
            bad.append(b"{this is not json")
        else:
            bad.append(_variant(good, change))
    async with watch(bootstrap, DEAD_LETTER) as dead, watch(bootstrap, REFERRAL_EVENTS) as events:
        # One key: all on one partition, in order, the good message last.
        sent = await send(bootstrap, POLICE_INTELLIGENCE, key_of(good), [*bad, encode(good)])
        await events.wait_for(event_about("ReferralOpened", good["data"]["intelligence_ref"]))
        offsets = {str(s.offset) for s in sent[:-1]}
        letters = await dead.wait_for(
            lambda r: (
                r.headers.get("dlq.source.offset", b"").decode() in offsets
                and r.key in {s.dead_letter_key for s in sent[:-1]}
            ),
            count=len(bad),
        )
    by_offset = {r.headers["dlq.source.offset"].decode(): r for r in letters}
    assert len(by_offset) == len(bad), "each bad message is dead-lettered exactly once"
    for (change, reason), sent_record, original in zip(EXPECTED, sent, bad, strict=False):
        letter = by_offset[str(sent_record.offset)]
        assert letter.headers["dlq.reason"].decode() == reason, change
        assert letter.headers["dlq.consumer"] == b"intake/police.intelligence"
        assert letter.headers["dlq.detail"], change
        assert letter.value == original, f"{change}: the message is kept unchanged"
    counted = await intake_db.fetch(
        """SELECT reason FROM dead_letters
            WHERE source_partition = $1 AND source_offset = ANY($2::bigint[])""",
        sent[0].partition,
        [s.offset for s in sent[:-1]],
    )
    assert sorted(r["reason"] for r in counted) == sorted(reason for _, reason in EXPECTED)


async def test_intelligence_keyed_wrongly_is_refused_so_withdrawals_cannot_overtake_it(
    bootstrap: str, intake: ServiceProcess
) -> None:
    message = submitted()
    async with watch(bootstrap, DEAD_LETTER) as dead:
        [sent] = await send(bootstrap, POLICE_INTELLIGENCE, "some-other-key", [encode(message)])
        letters = await dead.wait_for(
            lambda r: r.key == sent.dead_letter_key and r.value == encode(message)
        )
    assert letters[0].headers["dlq.reason"] == b"key_mismatch"


async def test_a_submission_whose_withdrawal_came_first_is_dead_lettered_and_opens_nothing(
    bootstrap: str, intake: ServiceProcess
) -> None:
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    async with watch(bootstrap, DEAD_LETTER) as dead, watch(bootstrap, REFERRAL_EVENTS) as events:
        # One key, so in this order: the withdrawal is remembered, not dead-lettered.
        sent = await send(
            bootstrap,
            POLICE_INTELLIGENCE,
            key_of(message),
            [encode(withdrawn(message)), encode(message)],
        )
        ours = {s.dead_letter_key for s in sent}
        await dead.wait_for(lambda r: r.key == sent[1].dead_letter_key)
        opened = [
            r for r in await events.drain(quiet_s=1.0) if event_about("ReferralOpened", ref)(r)
        ]
        letters = [r for r in await dead.drain(quiet_s=1.0) if r.key in ours]
    assert [r.headers["dlq.source.offset"] for r in letters] == [str(sent[1].offset).encode()]
    assert letters[0].headers["dlq.reason"] == b"withdrawn_before_submission"
    assert letters[0].value == encode(message)
    assert opened == [], "withdrawn intelligence never becomes a referral"
