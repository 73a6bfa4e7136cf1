"""casework's handlers and use cases on the in-memory store, driven the way the service
drives them: events as the consumer shell hands them over, actions and reads as the API
routes call them, and casework's own published events read back from the log. Imported by
the unit tests about casework; the store contract suite keeps the fake honest
(tests/integration/test_casework_store_contract.py)."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from referral_schemas import Envelope, PersonalDetails, SealedPersonal, parse_event, serialize_event
from referral_schemas.topics import DIRECTORY, REFERRAL_EVENTS

from services.casework import usecases
from services.casework.decisions import Actor, Command
from services.casework.handlers import handle_with, on_directory_with
from services.casework.store import InMemoryCaseworkStore
from services.casework.views import QueuePage, ReferralDetail
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.outbox import OutgoingMessage
from tests.support.clock import FixedClock
from tests.support.handling import handler_context
from tests.support.sealing import details_of
from tests.unit.test_casework_helpers import NOW


async def open_details(
    referral_id: uuid.UUID, sealed: SealedPersonal | None
) -> PersonalDetails | None:
    """What casework's key opens (the tests' reader key; None once erased)."""
    return details_of(referral_id, sealed) if sealed is not None else None


@dataclass
class Casework:
    """One casework on a fresh in-memory store, its clock an hour after the events'."""

    store: InMemoryCaseworkStore = field(default_factory=InMemoryCaseworkStore)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW + timedelta(hours=1)))
    offset: int = 0
    read_back: int = 0
    """How many of the outbox's messages were read back from the log already."""

    async def deliver(
        self, envelope: Envelope[Any], topic: str = REFERRAL_EVENTS
    ) -> list[OutgoingMessage]:
        """One record as the consumer shell hands it to the handler (the inbox aside)."""
        value = serialize_event(envelope)
        self.offset += 1
        record = ReceivedRecord(topic, 0, self.offset, envelope.subject.encode(), value, ())
        parsed: Envelope[Any] = parse_event(value)
        context = handler_context("casework", record, parsed.id, self.clock)
        if topic == DIRECTORY:
            return await on_directory_with(self.store, parsed, context)
        return await handle_with(self.store, parsed, context)

    async def feed(self, *envelopes: Envelope[Any]) -> list[OutgoingMessage]:
        """Each event in turn; what the handler answered (to publish), in order."""
        answered: list[OutgoingMessage] = []
        for envelope in envelopes:
            answered += await self.deliver(envelope)
        return answered

    async def read_back_from_log(self, *answers: OutgoingMessage) -> list[str]:
        """casework's own events (``answers`` and the actions' outbox) come back on
        referral.events, each once, in the order published; their types."""
        unread = self.store.outbox[self.read_back :]
        self.read_back = len(self.store.outbox)
        types = []
        for message in (*answers, *unread):
            if message.topic == REFERRAL_EVENTS:
                envelope: Envelope[Any] = parse_event(message.value)
                await self.deliver(envelope)
                types.append(envelope.type)
        return types

    async def act(
        self, referral_id: uuid.UUID, command: Command, actor: Actor, key: str | None = None
    ) -> usecases.Response:
        """A staff action as the API route performs it (the route's fingerprint aside)."""
        idempotency = usecases.idempotency_key(actor, key) if key is not None else None
        cause = uuid.uuid5(uuid.NAMESPACE_URL, idempotency.text()) if idempotency else uuid.uuid4()
        fingerprint = hashlib.sha256(repr(command).encode()).hexdigest()
        request = usecases.ActionRequest(
            referral_id, command, actor, cause, idempotency, fingerprint
        )
        return await usecases.perform(self.store, request, self.clock)

    async def queue(self, actor: Actor, **narrowed: Any) -> QueuePage:
        fields: dict[str, Any] = {"status": None, "area": None, "overdue": None}
        filters = usecases.QueueFilters(**(fields | {"limit": 50, "offset": 0} | narrowed))
        return await usecases.queue(self.store, actor, filters, self.clock)

    async def consult(self, referral_id: uuid.UUID, actor: Actor) -> ReferralDetail:
        return await usecases.consult(
            self.store, referral_id, actor, self.clock, uuid.uuid4(), open_details
        )

    def published(self) -> list[tuple[str, str]]:
        """(topic, type) of everything the use cases published, in order."""
        return [(m.topic, parse_event(m.value).type) for m in self.store.outbox]

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a use case could change."""
        s = self.store
        return (
            dict(s.referrals),
            {k: list(v) for k, v in s.timelines.items()},
            dict(s.answers),
            list(s.outbox),
        )
