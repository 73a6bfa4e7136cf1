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

import uuid
from datetime import datetime
from typing import Any

from referral_schemas import Envelope, ErasureRequested, ErasureScope, PersonalDataErased

from services.intake.publishing import referral_event
from services.runtime import keyring
from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection
from services.runtime.errors import Rejection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage

log = get_logger()


async def _same_person(conn: Connection, referral_id: uuid.UUID) -> list[uuid.UUID]:
    """``referral_id`` and every referral whose intelligence intake matched to its person."""
    rows = await conn.fetch(
        """WITH person AS (
               SELECT person_key FROM intelligence
                WHERE referral_id = $1 AND person_key IS NOT NULL
               UNION
               SELECT person_key FROM referrals WHERE referral_id = $1 AND person_key IS NOT NULL)
           SELECT referral_id FROM referrals WHERE person_key IN (SELECT person_key FROM person)
           UNION
           SELECT referral_id FROM intelligence WHERE person_key IN (SELECT person_key FROM person)
           UNION
           SELECT $1::uuid""",
        referral_id,
    )
    return sorted(row["referral_id"] for row in rows)


async def _scrub(conn: Connection, referral_ids: list[uuid.UUID]) -> None:
    """Intake's own copy of the person: gone (locked in referral id order)."""
    await conn.execute(
        "SELECT 1 FROM referrals WHERE referral_id = ANY($1::uuid[]) ORDER BY referral_id "
        "FOR UPDATE",
        referral_ids,
    )
    await conn.execute(
        """UPDATE intelligence SET subject = NULL, address = NULL, person_key = NULL
            WHERE referral_id = ANY($1::uuid[])""",
        referral_ids,
    )
    await conn.execute(
        "UPDATE referrals SET person_key = NULL WHERE referral_id = ANY($1::uuid[])",
        referral_ids,
    )


async def erase_referrals(
    conn: Connection, referral_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Scrub intake's copy, destroy the keys and note when; returns the keys destroyed per
    referral. In the caller's transaction, with the events that say so."""
    await _scrub(conn, referral_ids)
    destroyed = {rid: await keyring.destroy(conn, [rid]) for rid in referral_ids}
    await conn.execute(
        """UPDATE referrals SET erased_at = $2
            WHERE referral_id = ANY($1::uuid[]) AND erased_at IS NULL""",
        referral_ids,
        now,
    )
    return destroyed


async def erase(
    conn: Connection, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    request: ErasureRequested = envelope.data
    named = request.referral_id
    if not await conn.fetchval("SELECT 1 FROM referrals WHERE referral_id = $1", named):
        raise Rejection("unknown_referral", "erasure asked for a referral intake never opened")
    if request.scope is ErasureScope.PERSON:
        referral_ids = await _same_person(conn, named)
    else:
        referral_ids = [named]
    now = context.clock.now()
    counts = await erase_referrals(conn, referral_ids, now)
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
