"""feedback as its own process on the real broker and database: a referral that reached an
agency or the police coordinator and then ended becomes exactly one OutcomeReported on
police.outcomes, with references, outcome, dates and agency only, however often its events
are delivered and whatever lands after it ended. Events are published on referral.events
as intake, routing and casework would publish them."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from referral_schemas import (
    CancellationReason,
    ContactResult,
    EscalationReason,
    EventData,
    Outcome,
)
from referral_schemas.topics import POLICE_OUTCOMES, REFERRAL_EVENTS

from tests.e2e.helpers import event_for_referral, wait_outbox_empty
from tests.support.kafka import Sent, send, wait_committed, watch
from tests.support.referral_log import AGENCY, OTHER_AGENCY, ReferralLog, published
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
PERSONAL = ("Casey", "Marsh", "1987-11-23", "Harbour View", "LA14 9ZZ", "7700900123")
OUTCOME_FIELDS = {
    "referral_id",
    "force",
    "intelligence_refs",
    "outcome",
    "agency",
    "opened_at",
    "first_contact_at",
    "closed_at",
    "reported_at",
}


@pytest.fixture(scope="module")
def feedback(stack_env: dict[str, str], service_logs: Path) -> Iterator[ServiceProcess]:
    """One feedback instance (consumer group ``feedback``) for this module's tests."""
    service = ServiceProcess("feedback", stack_env, service_logs / "feedback-outcomes.log")
    try:
        yield service.start()
    finally:
        service.stop()


@pytest.fixture
async def feedback_db(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack_env["FEEDBACK_DATABASE_URL"])
    yield conn
    await conn.close()


@dataclass(frozen=True)
class Referral(ReferralLog):
    """A new referral's events (enveloped with ``published`` as their producers do)."""

    second_ref: str = "CUM/E2E/SECOND"

    def worked_and_closed(self) -> list[EventData]:
        return [
            self.opened(),
            self.linked(self.second_ref),
            self.routed(),
            self.accepted(),
            self.contact(ContactResult.NO_ANSWER, hours=2),
            self.contact(ContactResult.SPOKE_TO_PERSON, hours=5),
            self.completed(hours=70),
            self.closed(hours=72),
        ]


def new_referral() -> Referral:
    token = uuid.uuid4().hex[:8].upper()
    start = datetime.now(UTC).replace(microsecond=0)
    return Referral(uuid.uuid4(), start, f"CUM/E2E/{token}1", f"CUM/E2E/{token}2")


async def _outcomes_after_handling(
    bootstrap: str,
    referral: Referral,
    events: list[EventData],
    conn: asyncpg.Connection,
    expect: int,
    values: list[bytes] | None = None,
) -> list[dict[str, Any]]:
    """Send the events (or these exact ``values``); return every OutcomeReported for the
    referral once feedback has handled them all and published everything it committed."""
    rid = str(referral.referral_id)
    values = values or [published(e, referral.referral_id, referral.t0) for e in events]
    is_ours = event_for_referral("OutcomeReported", rid)
    async with watch(bootstrap, POLICE_OUTCOMES) as outcomes:
        sent: list[Sent] = await send(bootstrap, REFERRAL_EVENTS, rid, values)
        if expect:
            await outcomes.wait_for(is_ours, count=expect, timeout_s=120)
        await wait_committed(bootstrap, "feedback", sent[-1], timeout_s=120)
        await wait_outbox_empty(conn)
        records = [r for r in await outcomes.drain() if is_ours(r)]
    for record in records:
        assert record.key == rid.encode()
    return [record.json() for record in records]


async def test_a_closed_referral_is_reported_once_with_refs_outcome_and_no_personal_data(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = new_referral()
    values = [published(e, referral.referral_id) for e in referral.worked_and_closed()]
    # The close delivered twice (a redelivery): the inbox drops the copy.
    reports = await _outcomes_after_handling(
        bootstrap, referral, [], feedback_db, expect=1, values=[*values, values[-1]]
    )
    assert len(reports) == 1
    report = reports[0]
    assert report["source"] == "referral-hub/feedback"
    assert report["actor"] == "system:feedback"
    data = report["data"]
    assert set(data) == OUTCOME_FIELDS
    assert data["intelligence_refs"] == [referral.ref, referral.second_ref]
    assert data["outcome"] == "engaged_with_support"
    assert data["agency"] == AGENCY
    assert data["force"] == "cumbria"
    assert datetime.fromisoformat(data["opened_at"]) == referral.at(0)
    assert datetime.fromisoformat(data["first_contact_at"]) == referral.at(5)
    assert datetime.fromisoformat(data["closed_at"]) == referral.at(72)
    text = json.dumps(report)
    assert [value for value in PERSONAL if value in text] == []
    assert "w-1" not in text
    assert "w-2" not in text


async def test_a_close_resent_with_a_new_event_id_reports_nothing_new(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = new_referral()
    first = await _outcomes_after_handling(
        bootstrap, referral, referral.worked_and_closed(), feedback_db, expect=1
    )
    again = await _outcomes_after_handling(
        bootstrap, referral, [referral.closed(hours=72)], feedback_db, expect=0
    )
    assert len(first) == 1
    assert again == []


async def test_a_late_routing_after_a_cancellation_reports_once_as_moved_out_of_area(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    # Defect 1: Opened > Routed > Cancelled(moved_away) > Routed(late) > Accepted, worked,
    # closed. Everything after the cancellation had no effect: one report, as cancelled.
    referral = new_referral()
    events = [
        referral.opened(),
        referral.routed(AGENCY),
        referral.cancellation_requested(CancellationReason.MOVED_AWAY, hours=1),
        referral.cancelled(CancellationReason.MOVED_AWAY, hours=1),
        referral.routed(OTHER_AGENCY, hours=2),
        referral.accepted(OTHER_AGENCY, hours=3),
        referral.contact(agency=OTHER_AGENCY, hours=4),
        referral.completed(agency=OTHER_AGENCY, hours=5),
        referral.closed(agency=OTHER_AGENCY, hours=6),
    ]
    reports = await _outcomes_after_handling(bootstrap, referral, events, feedback_db, expect=1)
    assert [(r["data"]["outcome"], r["data"]["agency"]) for r in reports] == [
        ("moved_out_of_area", AGENCY)
    ]
    assert reports[0]["data"]["first_contact_at"] is None
    assert datetime.fromisoformat(reports[0]["data"]["closed_at"]) == referral.at(1)


async def test_a_referral_worked_and_then_withdrawn_reports_intelligence_withdrawn(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    # Defect 10: a referral worked and then withdrawn reported nothing to police.
    referral = new_referral()
    events = [
        referral.opened(),
        referral.routed(),
        referral.accepted(),
        referral.visited(hours=6),
        referral.cancellation_requested(hours=20),
        referral.cancelled(CancellationReason.INTELLIGENCE_WITHDRAWN, hours=21),
    ]
    reports = await _outcomes_after_handling(bootstrap, referral, events, feedback_db, expect=1)
    data = reports[0]["data"]
    assert len(reports) == 1
    assert (data["outcome"], data["intelligence_refs"]) == (
        "intelligence_withdrawn",
        [referral.ref],
    )
    assert datetime.fromisoformat(data["first_contact_at"]) == referral.at(6)


async def test_cancellations_before_anyone_had_the_referral_are_not_reported(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = new_referral()
    events = [referral.opened(), referral.cancelled(CancellationReason.MOVED_AWAY, hours=1)]
    assert await _outcomes_after_handling(bootstrap, referral, events, feedback_db, 0) == []


async def test_an_escalation_the_coordinator_closes_is_reported_without_an_agency(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = new_referral()
    events = [
        referral.opened(),
        referral.escalated(EscalationReason.NO_AGENCY_COVERS_AREA, area=None, hours=0.1),
        referral.escalation_closed(Outcome.SAFEGUARDING_ESCALATED, hours=24),
    ]
    reports = await _outcomes_after_handling(bootstrap, referral, events, feedback_db, expect=1)
    assert [(r["data"]["outcome"], r["data"]["agency"]) for r in reports] == [
        ("safeguarding_escalated", None)
    ]


async def test_feedback_stores_and_logs_no_personal_data(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = new_referral()
    events = [*referral.worked_and_closed()[:4], referral.assigned(worker="w-2")]
    await _outcomes_after_handling(
        bootstrap, referral, [*events, *referral.worked_and_closed()[4:]], feedback_db, expect=1
    )
    row = await feedback_db.fetchrow(
        "SELECT * FROM referral_feedback WHERE referral_id = $1", referral.referral_id
    )
    assert row is not None
    assert row["reported_at"] is not None
    assert (row["status"], row["outcome"]) == ("closed", "engaged_with_support")
    stored = json.dumps({k: str(v) for k, v in dict(row).items()})
    log = feedback.log_path.read_text(errors="replace")
    assert [value for value in PERSONAL if value in stored + log] == []
    assert "w-2" not in stored
    assert '"outcome_reported"' in log
