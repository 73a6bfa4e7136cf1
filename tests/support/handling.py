"""A record handed to a service's handler as its consumer shell hands it: the context names
the consumer as the runtime does (``consumer_name``), so derived event ids are the service's."""

import uuid

from services.runtime.clock import CausalIds, Clock
from services.runtime.consumer import HandlerContext, consumer_name
from services.runtime.dead_letter import ReceivedRecord


def handler_context(
    service: str, record: ReceivedRecord, event_id: uuid.UUID, clock: Clock
) -> HandlerContext:
    consumer = consumer_name(service, record.topic)
    return HandlerContext(consumer, clock, CausalIds(consumer, event_id), record)
