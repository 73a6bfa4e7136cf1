"""feedback as its own process on the real broker and database: a closed referral becomes
exactly one OutcomeReported on police.outcomes, with references, outcome, dates and agency
only, however often its events are delivered."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from referral_schemas import (
    CancellationReason,
    ContactAttempted,
    ContactMethod,
    ContactResult,
    Envelope,
    EventData,
    LinkBasis,
    Outcome,
    ReferralCancelled,
    ReferralClosed,
    ReferralLinked,
    ReferralOpened,
    ReferralRouted,
    load_sample,
    make_envelope,
    parse_event,
    serialize_event,
)
from referral_schemas.topics import POLICE_OUTCOMES, REFERRAL_EVENTS

from tests.e2e.helpers import event_for_referral, wait_outbox_empty
from tests.support.kafka import Sent, send, wait_committed, watch
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


class Referral:
    """Lifecycle events of one new referral, enveloped as intake, routing and casework do."""

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.correlation = uuid.uuid4()
        token = uuid.uuid4().hex[:8].upper()
        self.refs = [f"CUM/E2E/{token}1", f"CUM/E2E/{token}2"]
        self.start = datetime.now(UTC).replace(microsecond=0)

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    def envelope(self, data: EventData, source: str, actor: str, agency: str | None) -> bytes:
        envelope: Envelope[Any] = make_envelope(
            data,
            id=uuid.uuid4(),
            source=f"referral-hub/{source}",
            time=self.at(0),
            subject=str(self.id),
            correlation_id=self.correlation,
            causation_id=None,
            actor=actor,
            agency=agency,
        )
        return serialize_event(envelope)

    def opened(self) -> bytes:
        sample = parse_event(load_sample("ReferralOpened.v1")).data
        assert isinstance(sample, ReferralOpened)
        data = sample.model_copy(
            update={
                "referral_id": self.id,
                "intelligence_ref": self.refs[0],
                "opened_at": self.at(0),
            }
        )
        return self.envelope(data, "intake", "system:intake", None)

    def linked(self) -> bytes:
        data = ReferralLinked(
            referral_id=self.id,
            force="cumbria",
            intelligence_ref=self.refs[1],
            link_basis=LinkBasis.SAME_ADDRESS,
            linked_at=self.at(1),
            risk_level="high",
            reason_categories=["cuckooing"],
        )
        return self.envelope(data, "intake", "system:intake", None)

    def routed(self) -> bytes:
        data = ReferralRouted(
            referral_id=self.id,
            agency="twc-barrow",
            area="barrow",
            due_by=self.at(48),
            routed_at=self.at(0.1),
            directory_version=1,
            isa_version="cumbria-isa-1",
        )
        return self.envelope(data, "routing", "system:routing", None)

    def contact(self, hours: float, result: ContactResult) -> bytes:
        data = ContactAttempted(
            referral_id=self.id,
            agency="twc-barrow",
            method=ContactMethod.PHONE,
            result=result,
            attempted_at=self.at(hours),
            by="twc-0487",
        )
        return self.envelope(data, "casework", "user:twc-0487", "twc-barrow")

    def closed(self) -> bytes:
        data = ReferralClosed(
            referral_id=self.id,
            agency="twc-barrow",
            outcome=Outcome.ENGAGED_WITH_SUPPORT,
            closed_at=self.at(72),
            by="twc-0231",
        )
        return self.envelope(data, "casework", "user:twc-0231", "twc-barrow")

    def cancelled(self, reason: CancellationReason) -> bytes:
        data = ReferralCancelled(
            referral_id=self.id,
            reason=reason,
            cancelled_at=self.at(3),
            withdrawn_intelligence_refs=[],
        )
        return self.envelope(data, "intake", "system:intake", None)

    async def send(self, bootstrap: str, values: list[bytes]) -> list[Sent]:
        return await send(bootstrap, REFERRAL_EVENTS, str(self.id), values)

    def worked_and_closed(self) -> list[bytes]:
        return [
            self.opened(),
            self.linked(),
            self.routed(),
            self.contact(2, ContactResult.NO_ANSWER),
            self.contact(5, ContactResult.SPOKE_TO_PERSON),
            self.closed(),
        ]


async def _outcomes_after_handling(
    bootstrap: str, referral: Referral, values: list[bytes], conn: asyncpg.Connection, expect: int
) -> list[dict[str, Any]]:
    """Send the events; return every OutcomeReported for the referral once feedback has
    handled them all and published everything it committed."""
    is_ours = event_for_referral("OutcomeReported", str(referral.id))
    async with watch(bootstrap, POLICE_OUTCOMES) as outcomes:
        sent = await referral.send(bootstrap, values)
        if expect:
            await outcomes.wait_for(is_ours, count=expect, timeout_s=120)
        await wait_committed(bootstrap, "feedback", sent[-1], timeout_s=120)
        await wait_outbox_empty(conn)
        records = [r for r in await outcomes.drain() if is_ours(r)]
    for record in records:
        assert record.key == str(referral.id).encode()
    return [record.json() for record in records]


async def test_a_closed_referral_is_reported_once_with_refs_outcome_and_no_personal_data(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = Referral()
    events = referral.worked_and_closed()
    # The close delivered twice (a redelivery): the inbox drops the copy.
    reports = await _outcomes_after_handling(
        bootstrap, referral, [*events, events[-1]], feedback_db, expect=1
    )
    assert len(reports) == 1
    report = reports[0]
    assert report["source"] == "referral-hub/feedback"
    assert report["actor"] == "system:feedback"
    data = report["data"]
    assert set(data) == OUTCOME_FIELDS
    assert data["intelligence_refs"] == referral.refs
    assert data["outcome"] == "engaged_with_support"
    assert data["agency"] == "twc-barrow"
    assert data["force"] == "cumbria"
    assert datetime.fromisoformat(data["opened_at"]) == referral.at(0)
    assert datetime.fromisoformat(data["first_contact_at"]) == referral.at(5)
    assert datetime.fromisoformat(data["closed_at"]) == referral.at(72)
    text = json.dumps(report)
    assert [value for value in PERSONAL if value in text] == []
    assert "twc-0231" not in text
    assert "twc-0487" not in text


async def test_a_close_resent_with_a_new_event_id_reports_nothing_new(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = Referral()
    first = await _outcomes_after_handling(
        bootstrap, referral, referral.worked_and_closed(), feedback_db, expect=1
    )
    again = await _outcomes_after_handling(
        bootstrap, referral, [referral.closed()], feedback_db, expect=0
    )
    assert len(first) == 1
    assert again == []


async def test_a_referral_cancelled_because_police_withdrew_it_is_not_reported_back(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = Referral()
    values = [referral.opened(), referral.cancelled(CancellationReason.INTELLIGENCE_WITHDRAWN)]
    assert await _outcomes_after_handling(bootstrap, referral, values, feedback_db, 0) == []
    moved = Referral()
    values = [moved.opened(), moved.routed(), moved.cancelled(CancellationReason.MOVED_AWAY)]
    reports = await _outcomes_after_handling(bootstrap, moved, values, feedback_db, 1)
    assert [r["data"]["outcome"] for r in reports] == ["moved_out_of_area"]


async def test_feedback_stores_and_logs_no_personal_data(
    bootstrap: str, feedback: ServiceProcess, feedback_db: asyncpg.Connection
) -> None:
    referral = Referral()
    await _outcomes_after_handling(
        bootstrap, referral, referral.worked_and_closed(), feedback_db, expect=1
    )
    row = await feedback_db.fetchrow(
        "SELECT * FROM referral_feedback WHERE referral_id = $1", referral.id
    )
    assert row is not None
    assert row["reported_at"] is not None
    stored = json.dumps({k: str(v) for k, v in dict(row).items()})
    log = feedback.log_path.read_text(errors="replace")
    assert [value for value in PERSONAL if value in stored + log] == []
    assert '"outcome_reported"' in log
