"""Intake follows each referral's lifecycle on the real broker: it reads referral.events, so
a closed referral takes no new intelligence, a withdrawal that comes first is remembered, a
partial withdrawal recomputes the referral, and a withdrawal after closure changes nothing.

Only intake runs here: the test publishes what routing and casework would (the golden
samples, re-aimed at the referral) on referral.events itself.
"""

import json
from typing import Any

import asyncpg
import pytest
from referral_schemas.topics import DEAD_LETTER, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import (
    event_about,
    event_for_referral,
    intake_status,
    wait_intake_status,
    wait_outbox_empty,
    worked_and_closed,
)
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import TopicWatch, send, wait_committed, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


async def _open(bootstrap: str, events: TopicWatch, message: dict[str, Any]) -> str:
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
    referral_id: str = opened.json()["data"]["referral_id"]
    return referral_id


async def _close(bootstrap: str, conn: asyncpg.Connection, referral_id: str) -> None:
    """As routing and casework would: offered, accepted, worked and closed."""
    await send(bootstrap, REFERRAL_EVENTS, referral_id, worked_and_closed(referral_id))
    await wait_intake_status(conn, referral_id, "closed")


async def test_new_intelligence_after_closure_opens_a_new_referral_naming_the_closed_one(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    first = submitted()
    same_person = submitted(subject=first["data"]["subject"], indicators=["debt_bondage"])
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        closed_id = await _open(bootstrap, events, first)
        await _close(bootstrap, intake_db, closed_id)
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(same_person), [encode(same_person)])
        ref = same_person["data"]["intelligence_ref"]
        opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0].json()["data"]
        assert not [r for r in events.records if event_about("ReferralLinked", ref)(r)]
    assert opened["referral_id"] != closed_id
    assert opened["previous_referral_id"] == closed_id
    assert opened["reason_categories"] == ["debt_bondage"]
    # Nothing personal is kept for the closed referral.
    kept = await intake_db.fetchval(
        """SELECT count(*) FROM intelligence
            WHERE referral_id = $1::uuid AND (subject IS NOT NULL OR address IS NOT NULL)""",
        closed_id,
    )
    assert kept == 0


async def test_withdrawal_after_closure_changes_nothing(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    message = submitted()
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open(bootstrap, events, message)
        await _close(bootstrap, intake_db, referral_id)
        sent = await send(
            bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))]
        )
        await wait_committed(bootstrap, "intake", sent[0])
        await wait_outbox_empty(intake_db)
        published = [
            r.json()["type"] for r in await events.drain() if r.key == referral_id.encode()
        ]
    assert "CancellationRequested" not in published
    assert published[-1] == "ReferralClosed"
    assert await intake_status(intake_db, referral_id) == "closed"
    withdrawn_row = await intake_db.fetchval(
        "SELECT status FROM intelligence WHERE intelligence_ref = $1",
        message["data"]["intelligence_ref"],
    )
    assert withdrawn_row == "withdrawn", "intake still records what police withdrew"


async def test_a_withdrawal_that_comes_first_stops_the_submission_that_follows(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    async with (
        watch(bootstrap, DEAD_LETTER) as dead,
        watch(bootstrap, REFERRAL_EVENTS) as events,
    ):
        first = await send(
            bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))]
        )
        await wait_committed(bootstrap, "intake", first[0])
        assert not [r for r in await dead.drain(quiet_s=1.0) if r.key == first[0].dead_letter_key]
        remembered = await intake_db.fetchval(
            "SELECT reason FROM withdrawals_before_submission WHERE intelligence_ref = $1", ref
        )
        assert remembered == "discredited"
        then = await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
        letter = (
            await dead.wait_for(
                lambda r: (
                    r.headers.get("dlq.source.offset") == str(then[0].offset).encode()
                    and r.key == then[0].dead_letter_key
                )
            )
        )[0]
        await wait_outbox_empty(intake_db)
        assert not [
            r for r in await events.drain(quiet_s=1.0) if event_about("ReferralOpened", ref)(r)
        ]
    assert letter.headers["dlq.reason"] == b"withdrawn_before_submission"
    assert letter.value == encode(message)
    assert (
        await intake_db.fetchval(
            "SELECT count(*) FROM intelligence WHERE intelligence_ref = $1", ref
        )
        == 0
    )


async def test_withdrawing_one_of_two_pieces_recomputes_the_referral_from_the_other(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    cuckooed = submitted(
        indicators=["cuckooing", "weapons"],
        visitor_safety=["weapons_at_address", "do_not_visit_alone"],
    )
    runner = submitted(
        address=cuckooed["data"]["address"], indicators=["drug_running"], visitor_safety=[]
    )
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        referral_id = await _open(bootstrap, events, cuckooed)
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(runner), [encode(runner)])
        linked = await events.wait_for(
            event_about("ReferralLinked", runner["data"]["intelligence_ref"])
        )
        assert linked[0].json()["data"]["risk_level"] == "critical"
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(cuckooed), [encode(withdrawn(cuckooed))])
        amended = (await events.wait_for(event_for_referral("ReferralAmended", referral_id)))[0]
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(runner), [encode(withdrawn(runner))])
        requested = await events.wait_for(event_for_referral("CancellationRequested", referral_id))
    data = amended.json()["data"]
    assert data["withdrawn_intelligence_ref"] == cuckooed["data"]["intelligence_ref"]
    # The referral now names the runner (sealed: nobody but casework can read it), at lower
    # risk, without the weapons marker.
    assert "subject" not in data
    assert data["personal"]["key_id"]
    assert runner["data"]["subject"]["family_name"] not in json.dumps(data)
    assert data["risk_level"] == "medium"
    assert data["reason_categories"] == ["drug_running"]
    assert data["visitor_safety"] == []
    assert requested[0].json()["data"]["reason"] == "intelligence_withdrawn"
    # The withdrawn intelligence's personal data is erased from intake's tables.
    kept = await intake_db.fetchval(
        """SELECT count(*) FROM intelligence
            WHERE referral_id = $1::uuid AND status = 'withdrawn' AND subject IS NOT NULL""",
        referral_id,
    )
    assert kept == 0
