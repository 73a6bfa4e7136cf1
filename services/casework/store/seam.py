"""The seam between casework's handlers and use cases and where they keep things: the
``CaseworkStore`` Protocol and the values that cross it. Implementations: postgres.py (the
service's) and memory.py (the fake for fast tests); tests/integration/
test_casework_store_contract.py runs one suite against both."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from referral_schemas import Envelope, parse_event

from services.casework.domain import CaseState, Status, shown
from services.runtime.outbox import OutgoingMessage


@dataclass(frozen=True)
class Stored:
    """A referral as stored: the log's fold, and casework's own decisions not yet read back
    from the log, in the order decided."""

    state: CaseState
    pending: tuple[Envelope[Any], ...] = ()

    @property
    def shown(self) -> CaseState:
        """What decisions are made against and staff see (see ``domain.shown``)."""
        return shown(self.state, self.pending)


def stored_of(state: Any, pending: list[dict[str, Any]]) -> Stored:
    """A referral from its stored JSON: the state, and the pending envelopes."""
    envelopes = tuple(parse_event(json.dumps(item).encode()) for item in pending)
    return Stored(CaseState.model_validate(state), envelopes)


@dataclass(frozen=True)
class QueueQuery:
    """Whose queue (an agency's, or a force's for police) and which part of it."""

    scope_column: str  # "agency" or "force": fixed by the caller's role, never user input
    scope: str
    status: Status | None
    area: str | None
    overdue: bool | None
    limit: int
    offset: int
    now: datetime


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyKey:
    """An Idempotency-Key as sent by one user at one agency or force (``scope``)."""

    scope: str
    user: str
    key: str

    def text(self) -> str:
        return f"{self.scope}\x1f{self.user}\x1f{self.key}"


class CaseworkStore(Protocol):
    """What casework's handlers and use cases read and write, inside the caller's one
    transaction (the consumer shell's, or the API route's)."""

    async def load(self, referral_id: uuid.UUID, *, lock: bool) -> Stored | None:
        """The referral, None if never stored; ``lock`` holds it until commit (for a
        decision or a fold)."""

    async def save(self, state: CaseState, pending: Sequence[Envelope[Any]] = ()) -> None:
        """Keep ``state`` (the log's fold) and ``pending`` (casework's own decisions not yet
        read back); the queue shows ``state`` with ``pending`` laid over it."""

    async def add_to_timeline(self, envelope: Envelope[Any], no_effect: str | None = None) -> None:
        """At the event's log position, once per event id (its referral stored first);
        ``no_effect``: the code of the shared fold's refusal."""

    async def timeline(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        """The referral's entries in log order: event_id, type, at, actor, agency, summary,
        no_effect."""

    async def latest_trace(self, referral_id: uuid.UUID) -> tuple[str | None, str | None]:
        """The trace context of the referral's latest event that carried one."""

    async def queue(self, query: QueueQuery) -> tuple[list[CaseState], int]:
        """Ordered by risk (critical first), then acceptance deadline (none last), opening,
        id; one page and the total, each referral as staff see it (``Stored.shown``)."""

    async def lock_idempotency_key(self, key: IdempotencyKey) -> StoredResponse | None:
        """Serialise requests with one key until commit; the stored answer if any."""

    async def store_response(self, key: IdempotencyKey, response: StoredResponse) -> None:
        """Keep the answer to a key (once: a key answered already is an error)."""

    async def save_directory(
        self, version: int, agencies: list[dict[str, Any]], now: datetime
    ) -> bool:
        """Keep a directory version's agencies; False if that version was already kept."""

    async def directory_agencies(self) -> list[dict[str, Any]] | None:
        """The agencies of the directory in force (the highest version received), or None
        before any version was received."""

    async def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish ``messages`` (the outbox) when the transaction commits."""
