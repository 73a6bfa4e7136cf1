"""Erasure, as intake carries it out (docs/privacy.md, "Erasure").

Intake keeps what erasure must reach: the referrals' data keys (it made them, in the
keyring) and its own copy of the person's details (each piece's subject and address, and
the keyed hash of the person it matches on). An ``ErasureRequested`` for a referral
destroys that referral's keys and scrubs that copy; for a person, the same for every
referral whose intelligence intake matched to that person. One ``PersonalDataErased`` per
referral then tells casework (which drops its sealed copy and shows the date) and the
auditors. All of it in the transaction of the request's inbox claim: a crash leaves either
nothing done or everything, and a redelivery finds the request handled.

The keyed hash of the address stays: it names a place, not a person, and lets later
intelligence about a cuckooed address find that address's history.
"""

from typing import Any

from referral_schemas import Envelope, ErasureRequested, ErasureScope, PersonalDataErased

from services.intake.publishing import referral_event
from services.intake.store import IntakeStore
from services.runtime.consumer import HandlerContext
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()


async def erase(
    store: IntakeStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    request: ErasureRequested = envelope.data
    named = request.referral_id
    if not await store.knows(named):
        raise Rejection("unknown_referral", "erasure asked for a referral intake never opened")
    if request.scope is ErasureScope.PERSON:
        referral_ids = await store.same_person(named)
    else:
        referral_ids = [named]
    now = context.clock.now()
    counts = await store.erase(referral_ids, now)
    messages = []
    for referral_id in referral_ids:
        destroyed = counts[referral_id]
        erased = PersonalDataErased(
            referral_id=referral_id,
            scope=request.scope,
            reason=request.reason,
            requested_by=request.requested_by,
            erased_at=now,
            keys_destroyed=destroyed,
            with_referrals=[r for r in referral_ids if r != named] if referral_id == named else [],
            cause_referral_id=named if referral_id != named else None,
        )
        messages.append(
            referral_event(erased, envelope, context, name=f"PersonalDataErased/{referral_id}")
        )
    log.info("personal_data_erased", referrals=len(referral_ids), scope=request.scope.value)
    return messages
