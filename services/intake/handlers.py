"""intake's handler: a thin shell around the pure decisions in domain.py.

Runs inside the consumer shell's transaction: load state, decide, save, return the events.
"""

from typing import Any

from referral_schemas import (
    Envelope,
    EventData,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    make_envelope,
)
from referral_schemas.topics import REFERRAL_EVENTS, intelligence_key

from services.intake import domain, store
from services.intake.matching import match_keys
from services.runtime.consumer import Handler, HandlerContext
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/intake"


def _check_key(envelope: Envelope[Any], context: HandlerContext, force: str, ref: str) -> None:
    """Intelligence must be keyed by force and reference, or a withdrawal could overtake
    the submission it withdraws (different partitions keep no order between them)."""
    expected = intelligence_key(force, ref).encode()
    if context.record.key != expected:
        raise Rejection("key_mismatch", "the Kafka key must be '<force>:<intelligence_ref>'")


def _referral_event(
    data: EventData, referral_id: str, cause: Envelope[Any], context: HandlerContext
) -> OutgoingMessage:
    envelope = make_envelope(
        data,
        id=context.ids.new(data.EVENT_TYPE),
        source=SOURCE,
        time=context.clock.now(),
        subject=referral_id,
        correlation_id=cause.correlationid,
        causation_id=cause.id,
        actor="system:intake",
    )
    return event_message(REFERRAL_EVENTS, referral_id, envelope)


def make_handler(matching_secret: bytes, isa_version: str) -> Handler:
    async def on_submitted(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        intel: IntelligenceSubmitted = envelope.data
        _check_key(envelope, context, intel.force, intel.intelligence_ref)
        if await store.find_intelligence(conn, intel.force, intel.intelligence_ref):
            log.info("intelligence_already_received")
            return []
        keys = match_keys(intel.subject, intel.address, matching_secret)
        await store.lock_match_keys(conn, keys)
        match = await store.find_open_match(conn, keys)
        now = context.clock.now()
        basis = domain.link_basis(match, keys) if match else None
        decision: domain.Opened | domain.Linked
        if match and basis:
            decision = domain.link_to(match, intel, basis, now=now)
        else:
            referral_id = context.ids.new("referral")
            decision = domain.open_referral(
                intel, keys, referral_id=referral_id, now=now, isa_version=isa_version
            )
        referral = decision.referral
        await store.save_referral(conn, referral, now)
        await store.record_intelligence(
            conn,
            force=intel.force,
            ref=intel.intelligence_ref,
            referral_id=referral.referral_id,
            event_id=envelope.id,
            link_basis=basis.value if basis else None,
            received_at=now,
        )
        return [_referral_event(decision.event, str(referral.referral_id), envelope, context)]

    async def on_withdrawn(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        withdrawal: IntelligenceWithdrawn = envelope.data
        _check_key(envelope, context, withdrawal.force, withdrawal.intelligence_ref)
        found = await store.find_intelligence(conn, withdrawal.force, withdrawal.intelligence_ref)
        if found is None:
            raise Rejection(
                "unknown_intelligence", "no intelligence with this reference was received"
            )
        if found.status == "withdrawn":
            log.info("intelligence_already_withdrawn")
            return []
        now = context.clock.now()
        result = domain.withdraw(
            await store.load_referral(conn, found.referral_id), withdrawal, now=now
        )
        await store.mark_withdrawn(
            conn, withdrawal.force, withdrawal.intelligence_ref, withdrawal.reason.value, now
        )
        await store.save_referral(conn, result.referral, now)
        if result.event is None:
            return []
        return [_referral_event(result.event, str(found.referral_id), envelope, context)]

    async def handle(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        if isinstance(envelope.data, IntelligenceSubmitted):
            return await on_submitted(conn, envelope, context)
        if isinstance(envelope.data, IntelligenceWithdrawn):
            return await on_withdrawn(conn, envelope, context)
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")

    return handle
