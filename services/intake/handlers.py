"""intake's handlers: thin shells around the pure decisions in domain.py.

Each runs inside the consumer shell's transaction: load what intake knows, decide, save,
return the events (the shell writes them to the outbox in the same transaction).
"""

from datetime import datetime
from typing import Any

from referral_schemas import (
    Envelope,
    EventData,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    ReferralLinked,
    make_envelope,
)
from referral_schemas.lifecycle import Refusal
from referral_schemas.topics import REFERRAL_EVENTS, intelligence_key

from services.intake import domain, store
from services.intake.contents import Piece, piece_of
from services.intake.matching import MatchKeys, match_keys
from services.intake.state import Decision, Fresh, LateLink, Matches, Submission, Withdrawal
from services.runtime.consumer import Handler, HandlerContext
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/intake"
NOT_LOOKED_UP = Matches(live=None, previous_referral_id=None)
"""For a submission decided without matching (a resend, or withdrawn before it came)."""


def _check_key(context: HandlerContext, force: str, ref: str) -> None:
    """Intelligence must be keyed by force and reference, or a withdrawal could overtake
    the submission it withdraws (different partitions keep no order between them)."""
    expected = intelligence_key(force, ref).encode()
    if context.record.key != expected:
        raise Rejection("key_mismatch", "the Kafka key must be '<force>:<intelligence_ref>'")


def _referral_event(
    data: EventData, cause: Envelope[Any], context: HandlerContext
) -> OutgoingMessage:
    referral_id = data.kafka_key()
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


async def _carry_out(
    conn: Connection,
    decision: Decision | Refusal,
    cause: Envelope[Any],
    context: HandlerContext,
    now: datetime,
) -> list[OutgoingMessage]:
    if isinstance(decision, Refusal):
        raise Rejection(decision.code, decision.message)
    if decision.remember is not None:
        await store.remember_withdrawal(conn, decision.remember, cause.id, now)
    for state in decision.saves:
        await store.save_referral(conn, state, now)
    if decision.withdraw is not None:
        await store.mark_withdrawn(conn, decision.withdraw, now)
    return [_referral_event(data, cause, context) for data in decision.events]


async def _matches(conn: Connection, keys: MatchKeys) -> Matches:
    """Call with the keys locked (store.lock_match_keys)."""
    live = await store.find_open_match(conn, keys)
    previous = None if live else await store.find_previous(conn, keys)
    return Matches(live=live, previous_referral_id=previous)


async def _submission(conn: Connection, piece: Piece) -> Submission:
    if await store.find_intelligence(conn, piece.force, piece.ref):
        return Submission(piece, True, False, NOT_LOOKED_UP)
    if await store.withdrawn_before(conn, piece.force, piece.ref):
        return Submission(piece, False, True, NOT_LOOKED_UP)
    await store.lock_match_keys(conn, piece.match_keys)
    return Submission(piece, False, False, await _matches(conn, piece.match_keys))


def make_handler(matching_secret: bytes, isa_version: str) -> Handler:
    """The handler of police.intelligence: submissions and withdrawals."""

    async def on_submitted(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        intel: IntelligenceSubmitted = envelope.data
        _check_key(context, intel.force, intel.intelligence_ref)
        now = context.clock.now()
        keys = match_keys(intel.subject, intel.address, matching_secret)
        piece = piece_of(intel, keys, event_id=envelope.id, received_at=now)
        situation = await _submission(conn, piece)
        if situation.already_received:
            log.info("intelligence_already_received")
        fresh = Fresh(now=now, referral_id=context.ids.new("referral"), isa_version=isa_version)
        return await _carry_out(conn, domain.decide(situation, fresh), envelope, context, now)

    async def on_withdrawn(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        withdrawal: IntelligenceWithdrawn = envelope.data
        _check_key(context, withdrawal.force, withdrawal.intelligence_ref)
        now = context.clock.now()
        found = await store.find_intelligence(conn, withdrawal.force, withdrawal.intelligence_ref)
        referral = None
        if found is not None and found.active:
            referral = await store.load_referral(conn, found.referral_id)
        situation = Withdrawal(withdrawal, received=found is not None, referral=referral)
        fresh = Fresh(now=now, referral_id=context.ids.new("referral"), isa_version=isa_version)
        return await _carry_out(conn, domain.decide(situation, fresh), envelope, context, now)

    async def handle(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        if isinstance(envelope.data, IntelligenceSubmitted):
            return await on_submitted(conn, envelope, context)
        if isinstance(envelope.data, IntelligenceWithdrawn):
            return await on_withdrawn(conn, envelope, context)
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")

    return handle


def make_lifecycle_handler(isa_version: str) -> Handler:
    """The handler of referral.events: folds each referral intake opened, in log order."""

    async def handle(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        data: EventData = envelope.data
        now = context.clock.now()
        link = data if isinstance(data, ReferralLinked) else None
        piece_row = None
        if link is not None:
            # Locked first (see store's lock order): it may have to move to a new referral.
            piece_row = await store.find_intelligence(conn, link.force, link.intelligence_ref)
            if piece_row is not None:
                keys = MatchKeys(person=piece_row.person_key, address=piece_row.address_key)
                await store.lock_match_keys(conn, keys)
        state = await store.load_referral(conn, envelope.data.referral_id)
        if state is None:
            return []  # a referral intake did not open (nothing of intake's to follow)
        folded = domain.evolve(state, data)
        if isinstance(folded, Refusal):
            log.info("referral_event_no_effect", type=envelope.type, code=folded.code)
            if link is None or piece_row is None or not piece_row.active:
                return []
            keys = MatchKeys(person=piece_row.person_key, address=piece_row.address_key)
            late = LateLink(link, state, Matches(await store.find_open_match(conn, keys), None))
            fresh = Fresh(now=now, referral_id=context.ids.new("referral"), isa_version=isa_version)
            return await _carry_out(conn, domain.decide(late, fresh), envelope, context, now)
        if folded.status != state.status or folded.pieces != state.pieces:
            await store.save_referral(conn, folded, now)
        else:
            await store.save_lifecycle(conn, folded, now)
        return []

    return handle
