"""routing's handlers: load, fold and decide with domain.py's pure functions, then save.

``on_directory`` and ``on_referral_event`` do the work on any ``RoutingStore`` (tests use
``memory_store.InMemoryRoutingStore``); the handlers ``make_handlers`` gives the consumer
shell run them on PostgreSQL (``PgRoutingStore``) inside the shell's transaction, after its
inbox claim. Each loads the referral, folds the event (``domain.evolve``), decides
(``domain.decide``) and saves state, timer and the events decided (``effects.record``). Every
one takes the allocation lock first, before any referral row: it serialises routing
decisions across instances (two referrals never both take an agency's last place), and since
every transaction takes it before touching a row or an open count, transactions handling
several records cannot deadlock.
"""

from typing import Any

from referral_schemas import Envelope, ReferralOpened
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Refusal

from services.routing import domain
from services.routing.directory_cache import DirectoryCache
from services.routing.effects import Step, record
from services.routing.store import PgRoutingStore, RoutingStore
from services.runtime.consumer import Handler, HandlerContext, on_store
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()
FOLDED_TYPES = frozenset(model.EVENT_TYPE for model in domain.FOLDED)
"""The referral events routing takes in; the rest are acknowledged without a transaction."""


async def on_directory(store: RoutingStore, step: Step) -> list[OutgoingMessage]:
    """Store a newer version; route every referral waiting on routing with it."""
    envelope, context = step.cause, step.context
    directory = envelope.data
    if not isinstance(directory, DirectoryPublished):
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")
    await store.lock_allocation()
    current = await store.latest_directory()
    if current is not None and directory.version <= current.version:
        log.info("directory_version_ignored", version=directory.version, in_force=current.version)
        return []
    now = context.clock.now()
    await store.save_directory(directory, envelope.id, now)
    waiting = await store.load_waiting()
    decisions = domain.settle(
        waiting, directory, await store.open_counts(), now=now, isa_version=step.isa_version
    )
    messages = []
    for decision in decisions:
        state = decision.state
        done = await record(store, step, state.effective, state, decision.event)
        messages += done.messages
    log.info(
        "directory_in_force",
        version=directory.version,
        waiting=len(waiting),
        decided=len(decisions),
    )
    return messages


async def on_referral_event(store: RoutingStore, step: Step) -> list[OutgoingMessage]:
    """Fold one referral event, decide what routing does now, and give any place it freed
    to the escalations waiting for one."""
    data = step.cause.data
    if not isinstance(data, domain.FOLDED):
        return []
    await store.lock_allocation()
    stored = await store.load_for_update(data.referral_id)
    if stored is None and not isinstance(data, ReferralOpened):
        log.info("unknown_referral_ignored", type=step.cause.type)
        return []
    before = stored.effective if stored is not None else None
    landed = domain.landed(stored, step.cause.id) if stored is not None else None
    folded = domain.evolve(landed, data, correlation_id=step.cause.correlationid)
    if isinstance(folded, Refusal):
        log.info("event_has_no_effect", type=step.cause.type, code=folded.code)
        if landed is None or landed == stored:
            return []
        folded = landed  # routing's own event, refused: no longer pending all the same
    directory = await step.directories.in_force(store)
    was = before.holding_agency if before is not None else None
    counts = domain.recount(await store.open_counts(), was, folded.effective.holding_agency)
    now = step.context.clock.now()
    decision = domain.decide(folded, directory, counts, now=now, isa_version=step.isa_version)
    done = await record(store, step, before, folded, decision.event if decision else None)
    freed = domain.released(before, done.state.effective)
    if freed is None or directory is None:
        return done.messages
    return done.messages + await _retry_for_capacity(store, step, directory, freed)


async def _retry_for_capacity(
    store: RoutingStore, step: Step, directory: DirectoryPublished, freed: str
) -> list[OutgoingMessage]:
    """A place at ``freed`` opened up: offer it to the referrals escalated for lack of
    capacity in its areas, in the order they were escalated."""
    agency = directory.agency(freed)
    if agency is None:
        return []
    waiting = await store.load_awaiting_capacity(list(agency.areas))
    decisions = domain.settle(
        waiting,
        directory,
        await store.open_counts(),
        now=step.context.clock.now(),
        isa_version=step.isa_version,
        freed=frozenset({freed}),
    )
    messages = []
    for decision in decisions:
        state = decision.state
        done = await record(store, step, state.effective, state, decision.event, label="retry/")
        messages += done.messages
    return messages


def make_handlers(isa_version: str) -> tuple[Handler, Handler]:
    """(directory handler for hub.directory, referral handler for referral.events)."""
    directories = DirectoryCache()

    async def directory_step(
        store: RoutingStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        return await on_directory(store, Step(envelope, context, isa_version, directories))

    async def referral_step(
        store: RoutingStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        return await on_referral_event(store, Step(envelope, context, isa_version, directories))

    return on_store(PgRoutingStore, directory_step), on_store(PgRoutingStore, referral_step)
