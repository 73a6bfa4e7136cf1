"""casework's consumer of referral.events: fold each event into the referral's state and
its timeline. Publishes nothing. Events casework itself recorded were claimed in the inbox
when they were written, so the consumer shell skips them before they get here."""

from typing import Any

from referral_schemas import Envelope

from services.casework import store
from services.casework.domain import FOLDED_TYPES, UnknownReferral, apply
from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.outbox import OutgoingMessage


async def handle(
    conn: Connection, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    if envelope.type not in FOLDED_TYPES:
        return []
    referral_id = envelope.data.referral_id
    state = await store.load(conn, referral_id, lock=True)
    try:
        new_state = apply(state, envelope)
    except UnknownReferral:
        raise Rejection(
            "unknown_referral", f"{envelope.type} for a referral casework never saw opened"
        ) from None
    if new_state is None or new_state is state:
        return []
    await store.save(conn, new_state)
    await store.add_to_timeline(conn, envelope)
    return []
