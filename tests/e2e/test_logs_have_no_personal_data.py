"""No personal data or narrative reaches the logs, whatever intake is sent."""

import json

import pytest
from referral_schemas.topics import DEAD_LETTER, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.conftest import Spawn
from tests.e2e.helpers import event_about
from tests.support.intelligence import encode, key_of, submitted, withdrawn
from tests.support.kafka import send, watch

pytestmark = pytest.mark.e2e


async def test_intake_logs_name_events_but_never_people(bootstrap: str, spawn: Spawn) -> None:
    message = submitted()
    message["data"]["subject"]["phone"] = "+447700900456"
    linked = submitted(subject=message["data"]["subject"])
    poisoned = submitted()
    poisoned["data"]["subject"]["family_name"] = "Secretname\u0001"
    # At DEBUG, so that the per-message lines are checked too.
    service = spawn("intake", "intake-logs-check", INTAKE_LOG_LEVEL="DEBUG")
    try:
        async with (
            watch(bootstrap, REFERRAL_EVENTS) as events,
            watch(bootstrap, DEAD_LETTER) as dead,
        ):
            # Different keys keep no order between them: each step waits for the one before.
            await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)] * 2)
            ref, linked_ref = (
                message["data"]["intelligence_ref"],
                linked["data"]["intelligence_ref"],
            )
            await events.wait_for(event_about("ReferralOpened", ref), timeout_s=120)
            await send(bootstrap, POLICE_INTELLIGENCE, key_of(linked), [encode(linked)])
            await events.wait_for(event_about("ReferralLinked", linked_ref), timeout_s=120)
            [bad] = await send(bootstrap, POLICE_INTELLIGENCE, key_of(poisoned), [encode(poisoned)])
            await send(
                bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(withdrawn(message))]
            )
            await dead.wait_for(lambda r: r.key == bad.dead_letter_key, timeout_s=120)
    finally:
        service.stop()
    text = service.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    handled = [line for line in lines if line.get("event") == "message_handled"]
    assert handled, "intake logs each handled message"
    assert all(line["service"] == "intake" and line["event_id"] for line in handled)
    data = message["data"]
    personal = [
        data["subject"]["given_name"],
        data["subject"]["family_name"],
        data["subject"]["date_of_birth"],
        "7700900456",
        data["address"]["line1"],
        data["address"]["postcode"],
        data["narrative"],
        data["source_reference"],
        "Secretname",
    ]
    leaked = [value for value in personal if value in text]
    assert leaked == []
