"""insights' handlers: thin shells around the pure fold in domain.py, one per topic.

Each ``*_with`` function does the work on any ``InsightsStore`` (tests use the in-memory
one); the handlers the consumer shell calls (``on_*``) run it on PostgreSQL inside the
shell's transaction, after the inbox claim, so a redelivered event changes nothing. A
referral event the shared lifecycle refuses is not counted (its refusal code is logged).
insights publishes nothing: its output is the figures it serves. Messages that do not parse
are dead-lettered by the shell (under insights' own consumer names, so intake's dead letters
are not mistaken for these).
"""

from typing import Any

from referral_schemas import Envelope, IntelligenceSubmitted, IntelligenceWithdrawn
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import intelligence_key

from services.insights import domain
from services.insights.store import InsightsStore, PgInsightsStore
from services.runtime.consumer import HandlerContext, on_store
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()


async def referral_event_with(
    store: InsightsStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """One referral event: the referral's facts folded, and a completed visit counted."""
    data = envelope.data
    if not domain.tracks(data):
        return []
    facts = await store.load_for_update(data.referral_id)
    change = domain.decide(facts, data, event_id=envelope.id)
    if change.refusal is not None:
        log.info("event_without_effect", type=envelope.type, code=change.refusal.code)
        return []
    if change.facts != facts:
        await store.save(change.facts, context.clock.now())
    if change.visit is not None:
        await store.add_visit(change.visit)
    return []


def _keyed_as_intake_requires(context: HandlerContext, force: str, ref: str) -> bool:
    """intake refuses intelligence not keyed '<force>:<ref>' (and dead-letters it); insights
    counts only what intake accepts, and leaves the dead letter to intake."""
    return context.record.key == intelligence_key(force, ref).encode()


async def intelligence_with(
    store: InsightsStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """A submission kept (or refreshed), a withdrawal that discredits it marked."""
    data = envelope.data
    if isinstance(data, IntelligenceSubmitted):
        if not _keyed_as_intake_requires(context, data.force, data.intelligence_ref):
            log.info("intelligence_ignored", reason="key_mismatch")
            return []
        await store.save_intelligence(domain.intelligence_fact(data))
    elif isinstance(data, IntelligenceWithdrawn):
        if not _keyed_as_intake_requires(context, data.force, data.intelligence_ref):
            log.info("intelligence_ignored", reason="key_mismatch")
            return []
        if data.reason in domain.DISCREDITING_WITHDRAWALS:
            await store.discredit_intelligence(data.force, data.intelligence_ref)
    else:
        log.info("event_ignored", type=envelope.type)
    return []


async def directory_with(
    store: InsightsStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """A directory version put in force if it supersedes the one in force."""
    data = envelope.data
    if not isinstance(data, DirectoryPublished):
        log.info("event_ignored", type=envelope.type)
        return []
    in_force = await store.directory_version()
    if not domain.supersedes(data.version, in_force):
        log.info("directory_version_ignored", version=data.version, in_force=in_force)
        return []
    await store.replace_directory(domain.directory_view(data), context.clock.now())
    log.info("directory_in_force", version=data.version)
    return []


# What the consumer shell calls: the work above on PostgreSQL, in the shell's transaction.
on_referral_event = on_store(PgInsightsStore, referral_event_with)
on_intelligence = on_store(PgInsightsStore, intelligence_with)
on_directory = on_store(PgInsightsStore, directory_with)
