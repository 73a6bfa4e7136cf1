"""How intake publishes on referral.events: one envelope per event, caused by what intake
handled, keyed by the referral."""

from typing import Any

from referral_schemas import Envelope, EventData, make_envelope
from referral_schemas.topics import REFERRAL_EVENTS

from services.runtime.consumer import HandlerContext
from services.runtime.outbox import OutgoingMessage, event_message

SOURCE = "referral-hub/intake"


def referral_event(
    data: EventData, cause: Envelope[Any], context: HandlerContext, *, name: str | None = None
) -> OutgoingMessage:
    """``name``: what makes the event's id unique among those one message causes (default:
    its type)."""
    referral_id = data.kafka_key()
    envelope = make_envelope(
        data,
        id=context.ids.new(name or data.EVENT_TYPE),
        source=SOURCE,
        time=context.clock.now(),
        subject=referral_id,
        correlation_id=cause.correlationid,
        causation_id=cause.id,
        actor="system:intake",
    )
    return event_message(REFERRAL_EVENTS, referral_id, envelope)
