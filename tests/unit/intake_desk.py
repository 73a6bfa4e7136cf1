"""intake's handlers on the in-memory store, for unit tests: police messages and referral
events delivered as the consumer shell delivers them, what intake published read back, and
what a ReferralOpened carries opened with the key intake kept.

The store contract suite (tests/integration/test_intake_store_contract.py) keeps the fake
honest, so what these tests see is what the service does on PostgreSQL."""

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from referral_schemas import EventData, PersonalDetails, SealedPersonal, parse_event
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from services.intake.handlers import intelligence_handler, lifecycle_handler
from services.intake.memory_store import InMemoryIntakeStore
from services.runtime.dead_letter import ReceivedRecord
from services.runtime.outbox import OutgoingMessage
from services.runtime.sealing import unseal, unwrap
from tests.support.clock import FixedClock
from tests.support.handling import handler_context
from tests.support.intake_story import NOW, SECRET
from tests.support.intelligence import encode, key_of
from tests.support.referral_log import published
from tests.support.sealing import READER

_offsets = itertools.count()


@dataclass
class Desk:
    """One intake instance and its store."""

    store: InMemoryIntakeStore = field(default_factory=InMemoryIntakeStore)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))

    def __post_init__(self) -> None:
        reader = READER.public_key()
        self._police = intelligence_handler(SECRET, "isa-v1", reader)
        self._log = lifecycle_handler("isa-v1", reader)

    async def police(self, message: dict[str, Any]) -> list[EventData]:
        """A message on police.intelligence; what intake published about it."""
        value = encode(message)
        record = self._record(POLICE_INTELLIGENCE, key_of(message).encode(), value)
        return _events(await self._deliver(self._police, record))

    async def log(self, data: EventData) -> list[EventData]:
        """An event on referral.events as its producer puts it there."""
        referral_id = getattr(data, "referral_id")  # noqa: B009
        value = published(data, referral_id, self.clock.now())
        record = self._record(REFERRAL_EVENTS, str(referral_id).encode(), value)
        return _events(await self._deliver(self._log, record))

    def _record(self, topic: str, key: bytes, value: bytes) -> ReceivedRecord:
        return ReceivedRecord(topic, 0, next(_offsets), key, value, ())

    async def _deliver(self, handler: Any, record: ReceivedRecord) -> list[OutgoingMessage]:
        envelope = parse_event(record.value)
        context = handler_context("intake", record, envelope.id, self.clock)
        sent: list[OutgoingMessage] = await handler(self.store, envelope, context)
        assert all(m.topic == REFERRAL_EVENTS for m in sent)
        return sent

    def snapshot(self) -> tuple[dict[Any, Any], ...]:
        """Everything the store keeps, to compare before and after."""
        s = self.store
        return dict(s.referrals), dict(s.intelligence), dict(s.early_withdrawals), dict(s.keys)

    def opened_details(self, referral_id: uuid.UUID, sealed: SealedPersonal) -> PersonalDetails:
        """What a sealed copy says, opened as casework opens it: with the key intake kept
        (KeyError once that key is destroyed)."""
        kept_for, key = self.store.keys[sealed.key_id]
        assert kept_for == referral_id
        return unseal(sealed, referral_id=referral_id, data_key=unwrap(key, READER))


def _events(sent: list[OutgoingMessage]) -> list[EventData]:
    events = [parse_event(m.value).data for m in sent]
    for message, data in zip(sent, events, strict=True):
        assert message.key == data.kafka_key().encode(), "keyed by its referral"
    return events
