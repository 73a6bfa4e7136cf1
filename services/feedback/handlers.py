"""feedback's handler: a thin shell around the pure decisions in domain.py.

Runs inside the consumer shell's transaction (after the inbox claim, so a redelivered event
does nothing): load the referral's state, decide, save, return the OutcomeReported if due.
An event the shared lifecycle refuses changes nothing; its refusal code is logged.
"""

from typing import Any

from referral_schemas import Envelope, make_envelope
from referral_schemas.topics import POLICE_OUTCOMES

from services.feedback import domain, store
from services.runtime.consumer import Handler, HandlerContext
from services.runtime.db import Connection
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/feedback"
ACTOR = "system:feedback"


def make_handler() -> Handler:
    async def handle(
        conn: Connection, envelope: Envelope[Any], context: HandlerContext
    ) -> list[OutgoingMessage]:
        if not domain.tracks(envelope.data):
            return []
        now = context.clock.now()
        state = await store.load_for_update(conn, envelope.data.referral_id)
        decision = domain.decide(state, envelope.data, now=now)
        if decision.refusal is not None:
            log.info("event_without_effect", type=envelope.type, code=decision.refusal.code)
            return []
        if decision.state != state:
            await store.save(conn, decision.state, now)
        report = decision.report
        if report is None:
            return []
        referral_id = str(report.referral_id)
        outgoing = make_envelope(
            report,
            id=context.ids.new(report.EVENT_TYPE),
            source=SOURCE,
            time=now,
            subject=referral_id,
            correlation_id=envelope.correlationid,
            causation_id=envelope.id,
            actor=ACTOR,
        )
        log.info("outcome_reported", outcome=report.outcome.value)
        return [event_message(POLICE_OUTCOMES, referral_id, outgoing)]

    return handle
