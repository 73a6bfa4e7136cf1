"""Carrying out a routing decision inside the handler's transaction: the decided event goes
to the outbox and into the referral's pending decisions, the state is saved (which moves
the open counts), and the acceptance timer follows the deadline the referral now has."""

from dataclasses import dataclass
from typing import Any

from referral_schemas import Envelope, make_envelope
from referral_schemas.lifecycle import Lifecycle
from referral_schemas.topics import REFERRAL_EVENTS

from services.routing import domain
from services.routing.directory_cache import DirectoryCache
from services.routing.domain import RoutingEvent, RoutingState
from services.routing.store import RoutingStore, Timer
from services.runtime.consumer import HandlerContext
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/routing"
ACTOR = "system:routing"


@dataclass(frozen=True)
class Step:
    """One consumed message and what routing needs to act on it."""

    cause: Envelope[Any]
    context: HandlerContext
    isa_version: str
    directories: DirectoryCache


@dataclass(frozen=True)
class Recorded:
    state: RoutingState
    """The state saved, its decided event (if any) pending."""
    messages: list[OutgoingMessage]


async def record(
    store: RoutingStore,
    step: Step,
    before: Lifecycle | None,
    state: RoutingState,
    event: RoutingEvent | None,
    *,
    label: str = "",
) -> Recorded:
    """Save ``state`` with ``event`` (if any) decided; ``before`` is how routing saw the
    referral until now (None for a new one). ``label`` keeps apart the ids of events
    decided for one referral on one cause in different ways (e.g. a retry)."""
    now = step.context.clock.now()
    messages: list[OutgoingMessage] = []
    causation = step.cause.id
    if event is not None:
        referral_id = str(state.referral_id)
        event_id = step.context.ids.new(f"{referral_id}/{label}{event.EVENT_TYPE}")
        envelope = make_envelope(
            event,
            id=event_id,
            source=SOURCE,
            time=now,
            subject=referral_id,
            correlation_id=state.correlation_id,
            causation_id=step.cause.id,
            actor=ACTOR,
        )
        messages.append(event_message(REFERRAL_EVENTS, referral_id, envelope))
        state = domain.decided(state, event_id, event)
        causation = event_id
        log.info("routing_decided", decision=event.EVENT_TYPE, referral_id=referral_id)
    await store.save(state, now)
    await _follow_deadline(store, before, state, causation)
    return Recorded(state, messages)


async def _follow_deadline(
    store: RoutingStore, before: Lifecycle | None, state: RoutingState, causation: Any
) -> None:
    """The timer runs for the deadline the referral has now: set when it is offered or a
    hold is lifted, cleared while held and once it leaves awaiting acceptance. An unchanged
    deadline keeps its timer (or its having fired)."""
    was = domain.deadline(before) if before is not None else None
    now = domain.deadline(state.effective)
    if now == was:
        return
    if now is None:
        await store.clear_timer(state.referral_id)
        return
    agency, due_by = now
    timer = Timer(state.referral_id, agency, due_by, state.correlation_id, causation)
    await store.set_timer(timer)
