"""feedback's handler on the in-memory store: what the consumer shell gets back for each
event of a referral's log, in milliseconds and without a database (the store contract suite
keeps the fake honest: tests/integration/test_feedback_store_contract.py)."""

from datetime import datetime
from typing import Any

import pytest
from referral_schemas import Envelope, EventData, Outcome, parse_event
from referral_schemas.topics import POLICE_OUTCOMES, REFERRAL_EVENTS

from services.feedback.handlers import handle_with
from services.feedback.store import InMemoryFeedbackStore
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.outbox import OutgoingMessage
from tests.support.clock import FixedClock
from tests.support.handling import handler_context
from tests.support.referral_log import AGENCY, ReferralLog, published

pytestmark = pytest.mark.unit


async def deliver(
    store: InMemoryFeedbackStore, data: EventData, log: ReferralLog, now: datetime
) -> list[OutgoingMessage]:
    value = published(data, log.referral_id)
    envelope: Envelope[Any] = parse_event(value)
    record = ReceivedRecord(REFERRAL_EVENTS, 0, 0, str(log.referral_id).encode(), value, ())
    context = handler_context("feedback", record, envelope.id, FixedClock(now))
    return await handle_with(store, envelope, context)


async def test_a_referral_worked_to_a_close_reports_once_to_its_force() -> None:
    log, store = ReferralLog(), InMemoryFeedbackStore()
    sent: list[OutgoingMessage] = []
    for n, data in enumerate(log.worked_to_a_close()):
        sent += await deliver(store, data, log, log.at(300 + n))

    [report] = sent
    assert report.topic == POLICE_OUTCOMES
    assert report.key == str(log.referral_id).encode()
    body = parse_event(report.value)
    assert body.data.outcome is Outcome.ENGAGED_WITH_SUPPORT
    assert body.data.agency == AGENCY
    assert store.states[log.referral_id].reported_at is not None


async def test_an_event_the_lifecycle_refuses_changes_nothing_and_reports_nothing() -> None:
    log, store = ReferralLog(), InMemoryFeedbackStore()
    await deliver(store, log.opened(), log, log.at(1))
    before = dict(store.states)

    sent = await deliver(store, log.closed(), log, log.at(2))  # never accepted or completed

    assert sent == []
    assert store.states == before


async def test_an_event_about_a_referral_never_opened_saves_nothing() -> None:
    log, store = ReferralLog(), InMemoryFeedbackStore()

    sent = await deliver(store, log.routed(), log, log.at(1))

    assert sent == []
    assert store.saved_at == {}, "no row for a referral the log never opened"
