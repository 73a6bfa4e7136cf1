"""routing's view of one referral, driven as its handler drives it but without a database:
each event of the log is folded (routing's own once they land), then routing decides, and
what it decides stays pending until the test lets it land on the log. Pure, for unit tests.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from referral_schemas import EventData
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Lifecycle, Refusal

from services.routing import domain
from services.routing.domain import RoutingEvent, RoutingState
from tests.support.opened import opened_in
from tests.support.routing_events import AT, About

ISA = "cumbria-1clic-isa-v1"


@dataclass
class Sent:
    event_id: uuid.UUID
    event: RoutingEvent


@dataclass
class ReferralView:
    state: RoutingState
    directory: DirectoryPublished | None
    now: datetime = AT
    sent: list[Sent] = field(default_factory=list)
    """Routing's decisions, in order, not yet delivered back to it by the log."""

    @classmethod
    def opened(cls, district: str, directory: DirectoryPublished | None) -> "ReferralView":
        folded = domain.evolve(None, opened_in(district), correlation_id=uuid.uuid4())
        assert isinstance(folded, RoutingState)
        return cls(folded, directory)

    @property
    def about(self) -> About:
        return About(self.state.referral_id, self.now)

    @property
    def current(self) -> Lifecycle:
        return self.state.effective

    def receive(self, data: EventData, *, event_id: uuid.UUID | None = None) -> Refusal | None:
        """Fold one event of the log; a refusal when it has no effect there."""
        state = self.state if event_id is None else domain.landed(self.state, event_id)
        folded = domain.evolve(state, data, correlation_id=state.correlation_id)
        self.state = state if isinstance(folded, Refusal) else folded
        return folded if isinstance(folded, Refusal) else None

    def decide(
        self, counts: Mapping[str, int] | None = None, *, retry: bool = False
    ) -> RoutingEvent | None:
        """Routing's decision now; kept pending (and sent) as the handler keeps it."""
        decision = domain.decide(
            self.state,
            self.directory,
            counts or {},
            now=self.now,
            isa_version=ISA,
            retry_escalation=retry,
        )
        if decision is None:
            return None
        self.keep(decision.event)
        return decision.event

    def keep(self, event: RoutingEvent) -> None:
        event_id = uuid.uuid4()
        self.state = domain.decided(self.state, event_id, event)
        self.sent.append(Sent(event_id, event))

    def land(self) -> Refusal | None:
        """The log delivers routing's oldest decision not yet delivered."""
        sent = self.sent.pop(0)
        return self.receive(sent.event, event_id=sent.event_id)

    def step(self, data: EventData, counts: Mapping[str, int] | None = None) -> RoutingEvent | None:
        """Receive a foreign event, decide, and let the decision land."""
        refused = self.receive(data)
        assert refused is None, refused
        event = self.decide(counts)
        if event is not None:
            assert self.land() is None
        return event
