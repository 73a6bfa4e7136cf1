"""feedback's handler: load the referral's state, decide with domain.py, save, and return
the OutcomeReported if one is due.

``handle_with`` does the work on any ``FeedbackStore`` (tests use the in-memory one); the
handler the consumer shell calls runs it on PostgreSQL inside the shell's transaction (after
the inbox claim, so a redelivered event does nothing). An event the shared lifecycle refuses
changes nothing; its refusal code is logged.
"""

from typing import Any

from referral_schemas import Envelope, make_envelope
from referral_schemas.topics import POLICE_OUTCOMES

from services.feedback import domain
from services.feedback.store import FeedbackStore, PgFeedbackStore
from services.runtime.consumer import Handler, HandlerContext, on_store
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingMessage, event_message

log = get_logger()
SOURCE = "referral-hub/feedback"
ACTOR = "system:feedback"


def make_handler() -> Handler:
    return on_store(PgFeedbackStore, handle_with)


async def handle_with(
    states: FeedbackStore, envelope: Envelope[Any], context: HandlerContext
) -> list[OutgoingMessage]:
    """One event: the referral's state from ``states``, decided, saved; the report if due."""
    if not domain.tracks(envelope.data):
        return []
    now = context.clock.now()
    state = await states.load_for_update(envelope.data.referral_id)
    decision = domain.decide(state, envelope.data, now=now)
    if decision.refusal is not None:
        log.info("event_without_effect", type=envelope.type, code=decision.refusal.code)
        return []
    if decision.state != state:
        await states.save(decision.state, now)
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
