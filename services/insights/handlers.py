"""insights' handlers: thin shells around the pure fold in domain.py, one per topic.

Each runs inside the consumer shell's transaction, after the inbox claim, so a redelivered
event changes nothing. A referral event the shared lifecycle refuses is not counted (its
refusal code is logged). insights publishes nothing: its output is the figures it serves.
Messages that do not parse are dead-lettered by the shell (under insights' own consumer
names, so intake's dead letters are not mistaken for these).
"""

from typing import Any

from referral_schemas import Envelope, IntelligenceSubmitted, IntelligenceWithdrawn
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import intelligence_key

from services.insights import domain, store
from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()


async def on_referral_event(
    conn: Connection, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    data = envelope.data
    if not domain.tracks(data):
        return []
    facts = await store.load_for_update(conn, data.referral_id)
    change = domain.decide(facts, data, event_id=envelope.id)
    if change.refusal is not None:
        log.info("event_without_effect", type=envelope.type, code=change.refusal.code)
        return []
    if change.facts != facts:
        await store.save(conn, change.facts, context.clock.now())
    if change.visit is not None:
        await store.add_visit(conn, change.visit)
    return []


def _keyed_as_intake_requires(context: HandlerContext, force: str, ref: str) -> bool:
    """intake refuses intelligence not keyed '<force>:<ref>' (and dead-letters it); insights
    counts only what intake accepts, and leaves the dead letter to intake."""
    return context.record.key == intelligence_key(force, ref).encode()


async def on_intelligence(
    conn: Connection, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    data = envelope.data
    if isinstance(data, IntelligenceSubmitted):
        if not _keyed_as_intake_requires(context, data.force, data.intelligence_ref):
            log.info("intelligence_ignored", reason="key_mismatch")
            return []
        await store.save_intelligence(conn, domain.intelligence_fact(data))
    elif isinstance(data, IntelligenceWithdrawn):
        if not _keyed_as_intake_requires(context, data.force, data.intelligence_ref):
            log.info("intelligence_ignored", reason="key_mismatch")
            return []
        if data.reason in domain.DISCREDITING_WITHDRAWALS:
            await store.discredit_intelligence(conn, data.force, data.intelligence_ref)
    else:
        log.info("event_ignored", type=envelope.type)
    return []


async def on_directory(
    conn: Connection, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    data = envelope.data
    if not isinstance(data, DirectoryPublished):
        log.info("event_ignored", type=envelope.type)
        return []
    in_force = await store.directory_version(conn)
    if not domain.supersedes(data.version, in_force):
        log.info("directory_version_ignored", version=data.version, in_force=in_force)
        return []
    await store.replace_directory(conn, domain.directory_view(data), context.clock.now())
    log.info("directory_in_force", version=data.version)
    return []
