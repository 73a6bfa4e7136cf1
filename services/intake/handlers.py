"""intake's handlers: what intake knows, loaded from its store; the pure decision in domain.py;
and what it means, saved.

Each does its work on any ``IntakeStore`` (tests use the in-memory one): load what intake
knows, decide, save, return the events. The handlers the consumer shell calls run it on
PostgreSQL inside the shell's transaction (after the inbox claim, so a redelivered event
does nothing), and the shell writes the events to the outbox in the same transaction.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from referral_schemas import (
    Envelope,
    ErasureRequested,
    EventData,
    IntelligenceSubmitted,
    IntelligenceWithdrawn,
    ReferralLinked,
)
from referral_schemas.lifecycle import Refusal
from referral_schemas.topics import intelligence_key

from services.intake import domain
from services.intake.contents import Piece, piece_of
from services.intake.erasure import erase
from services.intake.matching import MatchKeys, match_keys
from services.intake.pg_store import PgIntakeStore
from services.intake.publishing import referral_event
from services.intake.sealer import Sealer
from services.intake.state import Decision, Fresh, LateLink, Matches, Submission, Withdrawal
from services.intake.store import IntakeStore
from services.runtime.consumer import Handler, HandlerContext, StoreHandler, on_store
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()
NOT_LOOKED_UP = Matches(live=None, previous_referral_id=None)
"""For a submission decided without matching (a resend, or withdrawn before it came)."""


def _check_key(context: HandlerContext, force: str, ref: str) -> None:
    """Intelligence must be keyed by force and reference, or a withdrawal could overtake
    the submission it withdraws (different partitions keep no order between them)."""
    expected = intelligence_key(force, ref).encode()
    if context.record.key != expected:
        raise Rejection("key_mismatch", "the Kafka key must be '<force>:<intelligence_ref>'")


async def _carry_out(
    store: IntakeStore,
    decision: Decision | Refusal,
    cause: Envelope[Any],
    context: HandlerContext,
    fresh: Fresh,
    sealer: Sealer,
) -> list[OutgoingMessage]:
    """``sealer``: the one ``fresh`` seals with; the keys it made are kept with the events."""
    if isinstance(decision, Refusal):
        raise Rejection(decision.code, decision.message)
    now = fresh.now
    await store.keep_keys(sealer.made)
    if decision.remember is not None:
        await store.remember_withdrawal(decision.remember, cause.id, now)
    for state in decision.saves:
        await store.save_referral(state, now)
    if decision.withdraw is not None:
        await store.mark_withdrawn(decision.withdraw, now)
    return [referral_event(data, cause, context) for data in decision.events]


async def _matches(store: IntakeStore, keys: MatchKeys) -> Matches:
    """Call with the keys locked (store.lock_match_keys)."""
    live = await store.find_open_match(keys)
    previous = None if live else await store.find_previous(keys)
    return Matches(live=live, previous_referral_id=previous)


async def _submission(store: IntakeStore, piece: Piece) -> Submission:
    if await store.find_intelligence(piece.force, piece.ref):
        return Submission(piece, True, False, NOT_LOOKED_UP)
    if await store.withdrawn_before(piece.force, piece.ref):
        return Submission(piece, False, True, NOT_LOOKED_UP)
    await store.lock_match_keys(piece.match_keys)
    return Submission(piece, False, False, await _matches(store, piece.match_keys))


def _fresher(
    isa_version: str, reader: X25519PublicKey
) -> Callable[[HandlerContext, datetime], tuple[Fresh, Sealer]]:
    def fresh(context: HandlerContext, now: datetime) -> tuple[Fresh, Sealer]:
        sealer = Sealer(reader)
        referral_id = context.ids.new("referral")
        return Fresh(now=now, referral_id=referral_id, isa_version=isa_version, seal=sealer), sealer

    return fresh


def make_handler(matching_secret: bytes, isa_version: str, reader: X25519PublicKey) -> Handler:
    """The handler of police.intelligence, on PostgreSQL (``intelligence_handler``)."""
    return on_store(PgIntakeStore, intelligence_handler(matching_secret, isa_version, reader))


def make_lifecycle_handler(isa_version: str, reader: X25519PublicKey) -> Handler:
    """The handler of referral.events, on PostgreSQL (``lifecycle_handler``)."""
    return on_store(PgIntakeStore, lifecycle_handler(isa_version, reader))


def intelligence_handler(
    matching_secret: bytes, isa_version: str, reader: X25519PublicKey
) -> StoreHandler[IntakeStore]:
    """Submissions and withdrawals from police.intelligence. ``reader``: the public key of
    the one service allowed to see people (casework), sealed for."""
    new_fresh = _fresher(isa_version, reader)

    async def on_submitted(
        store: IntakeStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        intel: IntelligenceSubmitted = envelope.data
        _check_key(context, intel.force, intel.intelligence_ref)
        now = context.clock.now()
        keys = match_keys(intel.subject, intel.address, matching_secret)
        piece = piece_of(intel, keys, event_id=envelope.id, received_at=now)
        situation = await _submission(store, piece)
        if situation.already_received:
            log.info("intelligence_already_received")
        fresh, sealer = new_fresh(context, now)
        decision = domain.decide(situation, fresh)
        return await _carry_out(store, decision, envelope, context, fresh, sealer)

    async def on_withdrawn(
        store: IntakeStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        withdrawal: IntelligenceWithdrawn = envelope.data
        _check_key(context, withdrawal.force, withdrawal.intelligence_ref)
        now = context.clock.now()
        found = await store.find_intelligence(withdrawal.force, withdrawal.intelligence_ref)
        referral = None
        if found is not None and found.active:
            referral = await store.load_referral(found.referral_id)
        situation = Withdrawal(withdrawal, received=found is not None, referral=referral)
        fresh, sealer = new_fresh(context, now)
        decision = domain.decide(situation, fresh)
        return await _carry_out(store, decision, envelope, context, fresh, sealer)

    async def handle(
        store: IntakeStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        if isinstance(envelope.data, IntelligenceSubmitted):
            return await on_submitted(store, envelope, context)
        if isinstance(envelope.data, IntelligenceWithdrawn):
            return await on_withdrawn(store, envelope, context)
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")

    return handle


def lifecycle_handler(isa_version: str, reader: X25519PublicKey) -> StoreHandler[IntakeStore]:
    """referral.events: folds each referral intake opened, in log order,
    and carries out the erasures the operator asks for (services.intake.erasure)."""
    new_fresh = _fresher(isa_version, reader)

    async def handle(
        store: IntakeStore, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        data: EventData = envelope.data
        if isinstance(data, ErasureRequested):
            return await erase(store, envelope, context)
        now = context.clock.now()
        link = data if isinstance(data, ReferralLinked) else None
        piece_row = None
        if link is not None:
            # Locked first (see store's lock order): it may have to move to a new referral.
            piece_row = await store.find_intelligence(link.force, link.intelligence_ref)
            if piece_row is not None:
                keys = MatchKeys(person=piece_row.person_key, address=piece_row.address_key)
                await store.lock_match_keys(keys)
        state = await store.load_referral(envelope.data.referral_id)
        if state is None:
            return []  # a referral intake did not open (nothing of intake's to follow)
        folded = domain.evolve(state, data)
        if isinstance(folded, Refusal):
            log.info("referral_event_no_effect", type=envelope.type, code=folded.code)
            if link is None or piece_row is None or not piece_row.active:
                return []
            keys = MatchKeys(person=piece_row.person_key, address=piece_row.address_key)
            late = LateLink(link, state, Matches(await store.find_open_match(keys), None))
            fresh, sealer = new_fresh(context, now)
            decision = domain.decide(late, fresh)
            return await _carry_out(store, decision, envelope, context, fresh, sealer)
        if folded.status != state.status or folded.pieces != state.pieces:
            await store.save_referral(folded, now)
        else:
            await store.save_lifecycle(folded, now)
        return []

    return handle
