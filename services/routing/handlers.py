"""routing's handlers: thin shells around the pure decisions in domain.py.

Each runs inside the consumer shell's transaction: load state, decide, save the state and
the acceptance timer, return the events to publish.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from referral_schemas import Envelope, ReferralCancelled, ReferralOpened, make_envelope
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import (
    ReferralAccepted,
    ReferralClosed,
    ReferralDeclined,
    SlaBreached,
)
from referral_schemas.topics import REFERRAL_EVENTS

from services.routing import domain, store
from services.routing.directory_cache import DirectoryCache
from services.routing.domain import Decision, Status
from services.runtime.consumer import Handler, HandlerContext
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/routing"
ACTOR = "system:routing"


@dataclass(frozen=True)
class Step:
    """What one consumed message is, as far as routing's output is concerned."""

    cause: Envelope[Any]
    context: HandlerContext
    isa_version: str
    directories: DirectoryCache


async def apply(conn: Connection, step: Step, decision: Decision) -> list[OutgoingMessage]:
    """Save the decided state, set or clear its acceptance timer, and return its event."""
    state = decision.state
    now = step.context.clock.now()
    await store.save_referral(conn, state, now)
    messages: list[OutgoingMessage] = []
    event_id: uuid.UUID | None = None
    if decision.event is not None:
        referral_id = str(state.referral_id)
        event_id = step.context.ids.new(f"{referral_id}/{decision.event.EVENT_TYPE}")
        envelope = make_envelope(
            decision.event,
            id=event_id,
            source=SOURCE,
            time=now,
            subject=referral_id,
            correlation_id=state.correlation_id,
            causation_id=step.cause.id,
            actor=ACTOR,
        )
        messages.append(event_message(REFERRAL_EVENTS, referral_id, envelope))
        log.info("routing_decided", decision=decision.event.EVENT_TYPE, referral_id=referral_id)
    if state.status is Status.ROUTING and event_id is not None:
        assert state.agency is not None
        assert state.due_by is not None
        timer = store.Timer(
            state.referral_id, state.agency, state.due_by, state.correlation_id, event_id
        )
        await store.set_timer(conn, timer)
    elif state.status is not Status.ROUTING:
        await store.clear_timer(conn, state.referral_id)
    return messages


async def _directory_in_force(conn: Connection, step: Step) -> DirectoryPublished:
    directory = await step.directories.in_force(conn)
    if directory is None:
        # A referral waiting on an agency implies a directory was received.
        raise Rejection("no_directory", "no directory version has been received")
    return directory


async def on_directory(conn: Connection, step: Step) -> list[OutgoingMessage]:
    """Store a newer version; route every referral that waited for a directory."""
    envelope, context = step.cause, step.context
    directory = envelope.data
    if not isinstance(directory, DirectoryPublished):
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")
    await store.lock_allocation(conn)
    current = await store.latest_version(conn)
    if current is not None and directory.version <= current:
        log.info("directory_version_ignored", version=directory.version, in_force=current)
        return []
    now = context.clock.now()
    await store.save_directory(conn, directory, envelope.id, now)
    waiting = await store.load_waiting(conn)
    decisions = domain.route_waiting(
        waiting, directory, await store.open_counts(conn), now=now, isa_version=step.isa_version
    )
    messages = [m for d in decisions for m in await apply(conn, step, d)]
    log.info("directory_in_force", version=directory.version, routed_waiting=len(decisions))
    return messages


async def on_opened(conn: Connection, step: Step) -> Decision | None:
    opened: ReferralOpened = step.cause.data
    await store.lock_allocation(conn)
    if await store.load_referral(conn, opened.referral_id) is not None:
        return None
    directory = await step.directories.in_force(conn)
    decision = domain.open_referral(
        opened,
        step.cause.correlationid,
        directory,
        await store.open_counts(conn),
        now=step.context.clock.now(),
        isa_version=step.isa_version,
    )
    if directory is None:
        log.info("referral_awaiting_directory", referral_id=str(opened.referral_id))
    return decision


async def on_declined_or_breached(
    conn: Connection, step: Step, state: domain.RoutingState
) -> Decision | None:
    event = step.cause.data
    directory = await _directory_in_force(conn, step)
    counts = await store.open_counts(conn)
    now = step.context.clock.now()
    if isinstance(event, ReferralDeclined):
        return domain.decline(
            state, event, directory, counts, now=now, isa_version=step.isa_version
        )
    assert isinstance(event, SlaBreached)
    return domain.breach(state, event, directory, counts, now=now, isa_version=step.isa_version)


_DECIDED = (
    ReferralOpened,
    ReferralDeclined,
    SlaBreached,
    ReferralAccepted,
    ReferralCancelled,
    ReferralClosed,
)
DECIDED_TYPES = frozenset(model.EVENT_TYPE for model in _DECIDED)
"""The referral events routing acts on (``decide``); the rest, its own among them, need no
transaction."""


async def decide(conn: Connection, step: Step) -> Decision | None:
    """The decision for one referral event; None when it changes nothing for routing."""
    data = step.cause.data
    if isinstance(data, ReferralOpened):
        return await on_opened(conn, step)
    if not isinstance(data, _DECIDED):
        return None
    if not isinstance(data, ReferralAccepted):
        # Every change of an agency's open count (routing, rerouting, ending) happens under
        # the allocation lock, taken before the referral row as in every routing decision:
        # a transaction holding a count row then never waits for the lock, so transactions
        # handling several records cannot deadlock. Accepting keeps the count unchanged.
        await store.lock_allocation(conn)
    state = await store.load_referral(conn, data.referral_id)
    if state is None:
        log.info("unknown_referral_ignored", type=step.cause.type)
        return None
    if isinstance(data, ReferralDeclined | SlaBreached):
        return await on_declined_or_breached(conn, step, state)
    if isinstance(data, ReferralAccepted):
        return domain.accept(state, data)
    return domain.end(
        state, Status.CANCELLED if isinstance(data, ReferralCancelled) else Status.CLOSED
    )


def make_handlers(isa_version: str) -> tuple[Handler, Handler]:
    """(directory handler for hub.directory, referral handler for referral.events)."""
    directories = DirectoryCache()

    async def handle_directory(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        return await on_directory(conn, Step(envelope, context, isa_version, directories))

    async def handle_referral_event(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        step = Step(envelope, context, isa_version, directories)
        decision = await decide(conn, step)
        if decision is None:
            if isinstance(envelope.data, ReferralDeclined | SlaBreached | ReferralAccepted):
                log.info("stale_event_ignored", type=envelope.type)
            return []
        return await apply(conn, step, decision)

    return handle_directory, handle_referral_event
