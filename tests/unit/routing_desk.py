"""routing's handlers and timer loop driven on the in-memory store, as the consumer shell
drives them: each event enveloped, handled with its own context, and what routing decides
handed back parsed. Routing's own events reach it only when a test lets them land."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from referral_schemas import Envelope, EventData, make_envelope, parse_event, serialize_event
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import DIRECTORY, REFERRAL_EVENTS

from services.routing.directory_cache import DirectoryCache
from services.routing.effects import Step
from services.routing.handlers import on_directory, on_referral_event
from services.routing.memory_store import InMemoryRoutingStore
from services.routing.timers import take_breaches
from services.runtime.dead_letter import ReceivedRecord
from tests.support.clock import FixedClock
from tests.support.directory import cumbria_directory
from tests.support.handling import handler_context

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ISA = "cumbria-1clic-isa-v1"


def directory(version: int, **overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(version, **overrides))


def envelope(data: EventData, correlation_id: uuid.UUID | None = None) -> Envelope[Any]:
    return make_envelope(
        data,
        id=uuid.uuid4(),
        source="referral-hub/test",
        time=NOW,
        subject=str(getattr(data, "referral_id", "directory")),
        correlation_id=correlation_id or uuid.uuid4(),
        causation_id=None,
        actor="system:test",
    )


def what(published: list[Envelope[Any]]) -> list[tuple[str, str, str | None]]:
    """(type, referral, agency offered to or reason escalated) of each event published."""
    return [
        (
            e.type,
            e.subject,
            getattr(e.data, "agency", None)
            or getattr(e.data, "to_agency", None)
            or getattr(e.data, "reason", None),
        )
        for e in published
    ]


@dataclass
class RoutingDesk:
    """One routing instance on an in-memory store."""

    store: InMemoryRoutingStore = field(default_factory=InMemoryRoutingStore)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    directories: DirectoryCache = field(default_factory=DirectoryCache)

    async def handle(self, *events: EventData) -> list[Envelope[Any]]:
        """Each event in turn, freshly enveloped; what routing published, in order."""
        return await self.deliver(*(envelope(data) for data in events))

    async def deliver(self, *events: Envelope[Any]) -> list[Envelope[Any]]:
        """As ``handle``, for whole envelopes (a redelivery, or routing's own coming back)."""
        out: list[Envelope[Any]] = []
        for event in events:
            out += await self._one(event)
        return out

    async def land(self, published: list[Envelope[Any]]) -> list[Envelope[Any]]:
        """Routing's published events reach it through the log."""
        return await self.deliver(*published)

    async def fire_timers(self, at: datetime) -> list[Envelope[Any]]:
        """The timer loop's pass at ``at``: the SlaBreached events it enqueues."""
        breaches = await take_breaches(self.store, at, 100)
        return [parse_event(m.value) for m in breaches.values()]

    async def _one(self, event: Envelope[Any]) -> list[Envelope[Any]]:
        is_directory = isinstance(event.data, DirectoryPublished)
        topic = DIRECTORY if is_directory else REFERRAL_EVENTS
        record = ReceivedRecord(topic, 0, 0, event.subject.encode(), serialize_event(event), ())
        context = handler_context("routing", record, event.id, self.clock)
        step = Step(event, context, ISA, self.directories)
        handler = on_directory if is_directory else on_referral_event
        return [parse_event(m.value) for m in await handler(self.store, step)]
