"""Police intelligence on the real broker becomes referrals in intake's real database."""

import asyncpg
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import any_about, event_about, event_for_referral, wait_outbox_empty
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import send, wait_committed, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


async def test_intelligence_sent_three_times_opens_exactly_one_referral(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        sent = await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)] * 3)
        await events.wait_for(event_about("ReferralOpened", ref))
        await wait_committed(bootstrap, "intake", sent[-1])
        await wait_outbox_empty(intake_db)
        about_it = [r for r in await events.drain() if any_about(ref)(r)]
    assert [r.json()["type"] for r in about_it] == ["ReferralOpened"]
    opened = about_it[0].json()
    assert about_it[0].key == opened["data"]["referral_id"].encode()
    assert "narrative" not in opened["data"]
    assert "grading" not in opened["data"]
    rows = await intake_db.fetch(
        "SELECT referral_id FROM intelligence WHERE intelligence_ref = $1", ref
    )
    assert [str(r["referral_id"]) for r in rows] == [opened["data"]["referral_id"]]


async def test_resent_intelligence_with_a_new_event_id_is_still_one_referral(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    first = submitted()
    again = {**first, "id": "0f0e0d0c-0b0a-4908-8706-050403020100"}
    ref = first["data"]["intelligence_ref"]
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        sent = await send(
            bootstrap, POLICE_INTELLIGENCE, key_of(first), [encode(first), encode(again)]
        )
        await events.wait_for(event_about("ReferralOpened", ref))
        await wait_committed(bootstrap, "intake", sent[-1])
        await wait_outbox_empty(intake_db)
        assert len([r for r in await events.drain() if any_about(ref)(r)]) == 1


async def test_second_intelligence_about_the_same_person_links_instead_of_opening(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    first = submitted()
    second = submitted(subject=first["data"]["subject"], indicators=["child_criminal_exploitation"])
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(first), [encode(first)])
        opened = (
            await events.wait_for(event_about("ReferralOpened", first["data"]["intelligence_ref"]))
        )[0]
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(second), [encode(second)])
        linked = (
            await events.wait_for(event_about("ReferralLinked", second["data"]["intelligence_ref"]))
        )[0]
        assert not [
            r
            for r in events.records
            if event_about("ReferralOpened", second["data"]["intelligence_ref"])(r)
        ]
    referral_id = opened.json()["data"]["referral_id"]
    assert linked.json()["data"]["referral_id"] == referral_id
    assert linked.json()["data"]["link_basis"] == "same_person"
    assert linked.json()["data"]["risk_level"] == "critical"
    assert set(linked.json()["data"]["reason_categories"]) >= {
        "cuckooing",
        "child_criminal_exploitation",
    }
    count = await intake_db.fetchval(
        "SELECT count(*) FROM intelligence WHERE referral_id = $1::uuid", referral_id
    )
    assert count == 2


async def test_intelligence_about_the_same_address_links_to_the_open_referral(
    bootstrap: str, intake: ServiceProcess
) -> None:
    first = submitted()
    second = submitted(address=first["data"]["address"])
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(first), [encode(first)])
        opened = (
            await events.wait_for(event_about("ReferralOpened", first["data"]["intelligence_ref"]))
        )[0]
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(second), [encode(second)])
        linked = (
            await events.wait_for(event_about("ReferralLinked", second["data"]["intelligence_ref"]))
        )[0]
    assert linked.json()["data"]["referral_id"] == opened.json()["data"]["referral_id"]
    assert linked.json()["data"]["link_basis"] == "same_address"


async def test_withdrawing_the_only_intelligence_asks_casework_to_cancel_the_referral(
    bootstrap: str, intake: ServiceProcess, intake_db: asyncpg.Connection
) -> None:
    message = submitted()
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
        opened = (
            await events.wait_for(
                event_about("ReferralOpened", message["data"]["intelligence_ref"])
            )
        )[0]
        referral_id = opened.json()["data"]["referral_id"]
        moved = withdrawn(message, reason="subject_moved_away")
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(moved)])
        requested = await events.wait_for(event_for_referral("CancellationRequested", referral_id))
        await wait_outbox_empty(intake_db)
        about_it = [r.json()["type"] for r in await events.drain() if r.key == opened.key]
    # Casework owns cancellation: intake only asks, with the reason police will be given.
    assert about_it == ["ReferralOpened", "CancellationRequested"]
    data = requested[0].json()["data"]
    assert data["reason"] == "moved_away"
    assert data["withdrawal_reason"] == "subject_moved_away"
    assert data["withdrawn_intelligence_refs"] == [message["data"]["intelligence_ref"]]
    status = await intake_db.fetchval(
        "SELECT status FROM referrals WHERE referral_id = $1::uuid", referral_id
    )
    assert status == "cancellation_requested"
    # New intelligence about the same person opens a fresh referral that names this one.
    again = submitted(subject=message["data"]["subject"])
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(again), [encode(again)])
        reopened = (
            await events.wait_for(event_about("ReferralOpened", again["data"]["intelligence_ref"]))
        )[0]
    assert reopened.json()["data"]["referral_id"] != referral_id
    assert reopened.json()["data"]["previous_referral_id"] == referral_id
