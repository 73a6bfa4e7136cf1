"""casework's consumers.

referral.events: every referral event is folded into the referral's state at its log
position, with the row locked, casework's own included (they leave the pending decisions
as they come back). An event the shared fold refuses has no effect: it is on the timeline
with its code and logged as ``event_no_effect``. Proposals get the owner's answer in the
same transaction, decided against the log's state and the pending decisions: SlaBreached
becomes OfferExpired while the offer is still open at that agency with that deadline and
not held; CancellationRequested becomes ReferralCancelled unless the referral has ended.

hub.directory: the agencies of each directory version, to check a coordinator's direction.

``handle_with`` and ``on_directory_with`` do the work on any ``CaseworkStore`` (tests use the
in-memory one); ``handle`` and ``on_directory``, the handlers the consumer shell calls, run
them on PostgreSQL inside the shell's transaction (after the inbox claim, so a redelivered
event does nothing).
"""

from typing import Any

from referral_schemas import Envelope, EventData, make_envelope
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Refusal
from referral_schemas.topics import REFERRAL_EVENTS

from services.casework.domain import CaseState, answer, evolve, shown
from services.casework.store import CaseworkStore, PgCaseworkStore, Stored
from services.runtime.consumer import HandlerContext, on_store
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/casework"
ACTOR = "system:casework"


async def handle_with(
    store: CaseworkStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """One referral event: folded into the referral's state in ``store``, on its timeline,
    and the owner's answer to a proposal (also pending there) to publish."""
    referral_id = envelope.data.referral_id
    stored = await store.load(referral_id, lock=True)
    result = evolve(stored.state if stored is not None else None, envelope)
    if stored is None:
        if isinstance(result, Refusal):
            raise Rejection(
                "unknown_referral", f"{envelope.type} for a referral casework never saw opened"
            )
        stored = Stored(result)
        result = stored.state
    no_effect = result.code if isinstance(result, Refusal) else None
    if no_effect is not None:
        log.info("event_no_effect", type=envelope.type, code=no_effect)
    state = stored.state if isinstance(result, Refusal) else result
    pending = tuple(p for p in stored.pending if p.id != envelope.id)
    decision = answer(shown(state, pending), envelope.data, context.clock.now())
    messages: list[OutgoingMessage] = []
    if isinstance(decision, Refusal):
        log.info("proposal_has_no_effect", type=envelope.type, code=decision.code)
    elif decision is not None:
        decided = _envelope(decision, state, envelope, context)
        pending = (*pending, decided)
        messages.append(event_message(REFERRAL_EVENTS, str(referral_id), decided))
        log.info("owner_decided", decision=decided.type, proposal=envelope.type)
    await store.save(state, pending)
    await store.add_to_timeline(envelope, no_effect)
    return messages


def _envelope(
    data: EventData, state: CaseState, cause: Envelope[Any], context: HandlerContext
) -> Envelope[Any]:
    return make_envelope(
        data,
        id=context.ids.new(f"{state.referral_id}/{data.EVENT_TYPE}"),
        source=SOURCE,
        time=context.clock.now(),
        subject=str(state.referral_id),
        correlation_id=state.correlation_id,
        causation_id=cause.id,
        actor=ACTOR,
    )


async def on_directory_with(
    store: CaseworkStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """One directory version: its agencies kept in ``store`` (once per version)."""
    directory = envelope.data
    if not isinstance(directory, DirectoryPublished):
        raise Rejection("unexpected_event_type", f"{envelope.type} does not belong on this topic")
    agencies = [
        {"code": a.code, "name": a.name, "active": a.active, "areas": list(a.areas)}
        for a in directory.agencies
    ]
    if await store.save_directory(directory.version, agencies, context.clock.now()):
        log.info("directory_received", version=directory.version)
    return []


# What the consumer shell calls: the work above on PostgreSQL, in the shell's transaction.
handle = on_store(PgCaseworkStore, handle_with)
on_directory = on_store(PgCaseworkStore, on_directory_with)
