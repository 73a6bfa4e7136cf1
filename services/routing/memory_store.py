"""routing's state in memory: the ``RoutingStore`` fake for handler and timer tests that need
no database. The contract suite (tests/integration/test_routing_store_contract.py) keeps it
behaving as ``PgRoutingStore`` does."""

import itertools
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import EscalationReason

from services.routing import codec
from services.routing.domain import RoutingState
from services.routing.store import DirectoryRef, Timer

_WAITING = frozenset({ReferralStatus.OPENED, ReferralStatus.REROUTING})
_NO_CAPACITY = EscalationReason.NO_AGENCY_WITH_CAPACITY.value


def _stored(state: RoutingState) -> RoutingState:
    """``state`` as it comes back from a row: through the codec, as PostgreSQL keeps it."""
    return codec.state_from(
        state.correlation_id,
        codec.lifecycle_json(state.lifecycle),
        codec.pending_json(state.pending),
        state.reroute_cause.value if state.reroute_cause else None,
    )


class InMemoryRoutingStore:
    """Directories, referral states and timers in dicts; one test drives it at a time, so
    there is nothing to lock."""

    def __init__(self) -> None:
        self.directories: dict[int, tuple[uuid.UUID, dict[str, Any]]] = {}
        self.states: dict[uuid.UUID, RoutingState] = {}
        self.saved_at: dict[uuid.UUID, datetime] = {}
        self.retry_order: dict[uuid.UUID, int] = {}
        """Escalations routing retries, by the order they were escalated in."""
        self.timers: dict[uuid.UUID, Timer] = {}
        self._next_retry = itertools.count(1)

    async def lock_allocation(self) -> None:
        return None

    async def latest_directory(self) -> DirectoryRef | None:
        if not self.directories:
            return None
        version = max(self.directories)
        return DirectoryRef(version, self.directories[version][0])

    async def load_directory(self, ref: DirectoryRef) -> DirectoryPublished:
        event_id, data = self.directories[ref.version]
        if event_id != ref.event_id:
            raise LookupError(f"directory version {ref.version} came in another event")
        return DirectoryPublished.model_validate(data)

    async def save_directory(
        self, directory: DirectoryPublished, event_id: uuid.UUID, now: datetime
    ) -> None:
        self.directories.setdefault(
            directory.version, (event_id, directory.model_dump(mode="json"))
        )

    async def open_counts(self) -> dict[str, int]:
        holding = (s.effective.holding_agency for s in self.states.values())
        return dict(Counter(agency for agency in holding if agency is not None))

    async def load_for_update(self, referral_id: uuid.UUID) -> RoutingState | None:
        return self.states.get(referral_id)

    async def load_waiting(self) -> list[RoutingState]:
        waiting = [
            s
            for s in self.states.values()
            if s.effective.status in _WAITING or s.referral_id in self.retry_order
        ]

        def order(state: RoutingState) -> tuple[bool, int, datetime, uuid.UUID]:
            retry = self.retry_order.get(state.referral_id)
            return (retry is not None, retry or 0, state.effective.opened_at, state.referral_id)

        return sorted(waiting, key=order)

    async def load_awaiting_capacity(self, areas: list[str]) -> list[RoutingState]:
        retried = sorted(self.retry_order, key=self.retry_order.__getitem__)
        states = (self.states[referral_id].effective for referral_id in retried)
        return [
            self.states[s.referral_id]
            for s in states
            if s.escalation_reason == _NO_CAPACITY and s.area in areas
        ]

    async def save(self, state: RoutingState, now: datetime) -> None:
        referral_id = state.referral_id
        self.states[referral_id] = _stored(state)
        self.saved_at[referral_id] = now
        if state.awaits_retry:
            self.retry_order.setdefault(referral_id, next(self._next_retry))
        else:
            self.retry_order.pop(referral_id, None)

    async def set_timer(self, timer: Timer) -> None:
        if timer.referral_id not in self.states:  # as the foreign key on timers refuses it
            raise LookupError("a timer for a referral never saved")
        self.timers[timer.referral_id] = timer

    async def clear_timer(self, referral_id: uuid.UUID) -> None:
        self.timers.pop(referral_id, None)

    async def take_due_timers(self, now: datetime, limit: int) -> list[Timer]:
        due = sorted((t for t in self.timers.values() if t.due_by <= now), key=lambda t: t.due_by)
        for timer in due[:limit]:
            del self.timers[timer.referral_id]
        return due[:limit]
