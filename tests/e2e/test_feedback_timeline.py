"""`hub referrals show ID` on the real broker: one referral's events from every topic, in
time order, with codes and references but never the person's name, address or birth date."""

import getpass
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referral_schemas import newest_sample, parse_event
from referral_schemas.topics import ACCESS_EVENTS, POLICE_OUTCOMES, REFERRAL_EVENTS

from tests.e2e.helpers import event_for_referral
from tests.support.kafka import send, watch
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
SHOW = "import typer; from services.hub.timeline_commands import show; typer.run(show)"
PERSONAL = ("Casey", "Marsh", "1987-11-23", "Harbour View", "LA14 9ZZ", "7700900123")
ORDER = (
    "ReferralOpened",
    "ReferralRouted",
    "ReferralConsulted",
    "ReferralAccepted",
    "ContactAttempted",
    "ReferralCompleted",
    "ReferralClosed",
    "OutcomeReported",
)


def hub_show(referral_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SHOW, referral_id],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def sample(name: str, referral_id: str, at: datetime, **data: Any) -> bytes:
    """A golden sample re-aimed at one referral and time; still a valid event."""
    message: dict[str, Any] = json.loads(newest_sample(name))
    message.update(id=str(uuid.uuid4()), subject=referral_id, time=at.isoformat())
    message["data"].update(referral_id=referral_id, **data)
    raw = json.dumps(message).encode()
    parse_event(raw)  # the test sends only what a real producer could
    return raw


async def test_show_prints_the_referral_timeline_in_order_without_personal_data(
    bootstrap: str, spawn: Callable[..., ServiceProcess]
) -> None:
    rid = str(uuid.uuid4())
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ref = f"CUM/SHOW/{rid[:8].upper()}"

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    # Sent out of time order across topics: the command must sort them.
    consulted = sample("ReferralConsulted", rid, at(2), consulted_at=at(2).isoformat())
    await send(bootstrap, ACCESS_EVENTS, rid, [consulted])
    # The referral's life as the log holds it (feedback reports only what the shared
    # lifecycle accepts: accepted before contact, completed before closed).
    events = [
        sample("ReferralOpened", rid, at(0), intelligence_ref=ref, opened_at=at(0).isoformat()),
        sample("ReferralRouted", rid, at(1), routed_at=at(1).isoformat()),
        sample("ReferralAccepted", rid, at(3), accepted_at=at(3).isoformat()),
        sample("ContactAttempted", rid, at(4), result="spoke_to_person"),
        sample("ReferralCompleted", rid, at(5), completed_at=at(5).isoformat()),
        sample("ReferralClosed", rid, at(6), closed_at=at(6).isoformat()),
    ]
    spawn("feedback", "feedback-timeline")
    async with watch(bootstrap, POLICE_OUTCOMES) as outcomes:
        await send(bootstrap, REFERRAL_EVENTS, rid, events)
        await outcomes.wait_for(event_for_referral("OutcomeReported", rid), timeout_s=120)

    done = hub_show(rid.upper())
    assert done.returncode == 0, done.stderr
    out = done.stdout
    positions = [out.find(event_type) for event_type in ORDER]
    assert -1 not in positions, out
    assert positions == sorted(positions), out
    assert "8 record(s)" in out
    for shown in (ref, "twc-barrow", "spoke_to_person", "engaged_with_support", "queue_review"):
        assert shown in out
    assert [value for value in PERSONAL if value in out] == []


def test_show_refuses_an_unknown_or_malformed_id(stack_env: dict[str, str]) -> None:
    unknown = hub_show(str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "no referral" in unknown.stderr
    malformed = hub_show("not-a-referral")
    assert malformed.returncode == 1
    assert "not a referral id" in malformed.stderr


async def test_showing_a_referral_is_recorded_as_a_consultation_by_the_operator(
    bootstrap: str,
) -> None:
    rid = str(uuid.uuid4())
    opened = sample("ReferralOpened", rid, datetime.now(UTC))
    await send(bootstrap, REFERRAL_EVENTS, rid, [opened])
    async with watch(bootstrap, ACCESS_EVENTS) as access:
        shown = hub_show(rid)
        assert shown.returncode == 0, shown.stderr
        [record] = await access.wait_for(event_for_referral("ReferralConsulted", rid))
    consulted = record.json()
    assert consulted["data"]["user"] == getpass.getuser()
    assert consulted["data"]["via"] == "hub referrals show"
    assert consulted["actor"] == f"user:{getpass.getuser()}"
