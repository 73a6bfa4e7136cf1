"""insights' handlers on the in-memory store, read back as the figures a reader gets, in
milliseconds and without a database (the store contract suite keeps the fake honest:
tests/integration/test_insights_store_contract.py)."""

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from referral_schemas import CancellationReason, ContactResult, Envelope, Outcome, parse_event
from referral_schemas.topics import DIRECTORY, POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.insights.figures import FigureRow
from services.insights.handlers import directory_with, intelligence_with, referral_event_with
from services.insights.periods import Month
from services.insights.store import InMemoryInsightsStore, InsightsStore
from services.insights.suppression import Withheld, suppress
from services.runtime.consumer import HandlerContext
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.outbox import OutgoingMessage
from tests.support.clock import FixedClock
from tests.support.handling import handler_context
from tests.support.insights_events import (
    Message,
    accepted,
    at,
    cancelled,
    closed,
    completed,
    contact,
    directory,
    intelligence,
    opened,
    routed,
    visit,
    withdrawal,
)
from tests.support.insights_story import STORY_FIGURES, programme_story

pytestmark = pytest.mark.unit

Handle = Callable[[InsightsStore, Envelope[Any], HandlerContext], Awaitable[list[OutgoingMessage]]]
HANDLERS: dict[str, Handle] = {
    DIRECTORY: directory_with,
    POLICE_INTELLIGENCE: intelligence_with,
    REFERRAL_EVENTS: referral_event_with,
}
NOW = at("2024-03-10 12:00")
AREAS = {"barrow": ["LA13", "LA14"], "kendal": ["LA8", "LA9"]}


async def deliver(store: InsightsStore, message: Message, now: datetime = NOW) -> None:
    """One record through the handler of its topic, as insights' consumer would run it."""
    envelope: Envelope[Any] = parse_event(message.value)
    record = ReceivedRecord(message.topic, 0, 0, message.key.encode(), message.value, ())
    context = handler_context("insights", record, envelope.id, FixedClock(now))
    assert await HANDLERS[message.topic](store, envelope, context) == []  # publishes nothing


async def feed(store: InsightsStore, messages: Iterable[Message]) -> None:
    for message in messages:
        await deliver(store, message)


async def month_of(store: InMemoryInsightsStore, month: str, area: str = "barrow") -> FigureRow:
    [row] = await store.figures(Month.parse(month), Month.parse(month), area)
    return row


def worked(rid: uuid.UUID, start: datetime) -> list[Message]:
    """Opened in LA14, routed to barrow, accepted, spoken to an hour later."""
    return [
        opened(rid, start),
        routed(rid, "barrow", start),
        accepted(rid, start),
        contact(rid, start + timedelta(hours=1), ContactResult.SPOKE_TO_PERSON),
    ]


async def test_the_story_gives_each_figure_as_defined() -> None:
    store = InMemoryInsightsStore()
    await feed(store, [directory(1, AREAS), *programme_story("barrow", "LA14")])
    for month, expected in STORY_FIGURES.items():
        row = await month_of(store, month)
        assert {name: getattr(row, name) for name in expected} == expected, month
    assert (await month_of(store, "2024-01", "kendal")).referrals_opened == 0


async def test_a_reader_sees_fewer_than_five_referrals_as_withheld_and_five_as_counted() -> None:
    store = InMemoryInsightsStore()
    await feed(store, [directory(1, AREAS)])
    for _ in range(4):
        await feed(store, worked(uuid.uuid4(), at("2024-05-10 06:00")))
    four = suppress(await month_of(store, "2024-05"))
    assert four.referrals_opened is None
    assert four.withheld["referrals_opened"] is Withheld.FEWER_THAN_5

    await feed(store, worked(uuid.uuid4(), at("2024-05-11 06:00")))
    five = suppress(await month_of(store, "2024-05"))
    assert (five.referrals_opened, five.referrals_contacted) == (5, 5)
    assert five.median_hours_to_first_contact == 1.0


async def test_a_cancelled_referral_counts_as_cancelled_never_as_an_outcome() -> None:
    store, rid = InMemoryInsightsStore(), uuid.uuid4()
    start = at("2024-05-10 06:00")
    await feed(store, [directory(1, AREAS), *worked(rid, start)])
    await feed(store, [completed(rid, start + timedelta(days=2), Outcome.ENGAGED_WITH_SUPPORT)])
    await feed(store, [cancelled(rid, start + timedelta(days=3), CancellationReason.MOVED_AWAY)])

    row = await month_of(store, "2024-05")
    assert row.referrals_cancelled == 1
    assert set(row.outcomes.values()) == {0}
    assert row.engaged == 1, "the outcome recorded still gives the engagement verdict"


async def test_a_redelivered_event_counts_once() -> None:
    store, rid = InMemoryInsightsStore(), uuid.uuid4()
    start = at("2024-05-10 06:00")
    seen = visit(rid, start + timedelta(hours=3))
    line = intelligence("LA14", "DANNY", start)
    story = [directory(1, AREAS), *worked(rid, start), seen, line]
    await feed(store, story)
    before = await month_of(store, "2024-05")

    await feed(store, story)  # the whole log again, as after a lost offset commit

    after = await month_of(store, "2024-05")
    assert after == before
    assert (after.referrals_opened, after.visits_completed, after.active_county_lines) == (1, 1, 1)


async def test_a_closed_referral_stays_closed() -> None:
    store, rid = InMemoryInsightsStore(), uuid.uuid4()
    start = at("2024-05-10 06:00")
    await feed(store, [directory(1, AREAS), *worked(rid, start)])
    await feed(store, [completed(rid, start + timedelta(days=2), Outcome.SIGNPOSTED)])
    await feed(store, [closed(rid, start + timedelta(days=3), Outcome.SIGNPOSTED)])
    kept = dict(store.referrals)

    late = start + timedelta(days=4)
    await feed(store, [visit(rid, late), cancelled(rid, late), routed(rid, "kendal", late)])

    assert store.referrals == kept, "events after the close change nothing"
    row = await month_of(store, "2024-05")
    assert (row.outcomes["signposted"], row.referrals_cancelled, row.visits_completed) == (1, 0, 0)
    assert (await month_of(store, "2024-05", "kendal")).referrals_opened == 0


async def test_a_cancelled_referral_stays_cancelled() -> None:
    store, rid = InMemoryInsightsStore(), uuid.uuid4()
    start = at("2024-05-10 06:00")
    await feed(store, [directory(1, AREAS), opened(rid, start), cancelled(rid, start)])

    late = start + timedelta(days=1)
    await feed(store, [routed(rid, "barrow", late), closed(rid, late, Outcome.SIGNPOSTED)])

    row = await month_of(store, "2024-05")
    assert (row.referrals_opened, row.referrals_cancelled) == (1, 1)
    assert set(row.outcomes.values()) == {0}


async def test_an_event_about_a_referral_never_opened_keeps_nothing() -> None:
    store, rid = InMemoryInsightsStore(), uuid.uuid4()

    await feed(store, [routed(rid, "barrow", NOW), visit(rid, NOW)])

    assert (store.referrals, store.visits) == ({}, {})


async def test_discredited_intelligence_stops_counting_and_other_withdrawals_do_not() -> None:
    store = InMemoryInsightsStore()
    wrong = intelligence("LA14", "ZED", at("2024-05-10 06:00"))
    moved = intelligence("LA14", "OPSLINE", at("2024-05-11 06:00"))
    await feed(store, [directory(1, AREAS), wrong, moved])
    assert (await month_of(store, "2024-05")).active_county_lines == 2

    await feed(store, [withdrawal(wrong, "discredited"), withdrawal(moved, "subject_moved_away")])
    assert (await month_of(store, "2024-05")).active_county_lines == 1
    await deliver(store, wrong)  # a resend of what was discredited
    assert (await month_of(store, "2024-05")).active_county_lines == 1


async def test_intelligence_keyed_otherwise_than_intake_requires_is_not_counted() -> None:
    store = InMemoryInsightsStore()
    line = intelligence("LA14", "DANNY", at("2024-05-10 06:00"))
    await feed(store, [directory(1, AREAS), Message(line.topic, "cumbria:OTHER", line.value)])
    assert (await month_of(store, "2024-05")).active_county_lines == 0


async def test_the_highest_directory_version_stays_in_force_whatever_the_order() -> None:
    store = InMemoryInsightsStore()
    rid = uuid.uuid4()
    await feed(store, [opened(rid, at("2024-05-10 06:00"), "LA9")])
    await feed(store, [directory(2, {"kendal": ["LA9"]}), directory(1, {"barrow": ["LA9"]})])

    rows = await store.figures(Month.parse("2024-05"), Month.parse("2024-05"))
    assert [(row.area, row.referrals_opened) for row in rows] == [("kendal", 1)]
    assert await store.directory_version() == 2
