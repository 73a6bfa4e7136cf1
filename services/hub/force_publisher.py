"""Publishing as a force's sending system: the one place `hub intelligence` puts a force's
events on Kafka.

Each event is signed with the force's own key (``HUB_FORCE_<FORCE>_EVENT_SIGNING_KEY_FILE``).
It connects as the force's own Kafka principal (``force-<force>``, from the stack's env file:
``HUB_FORCE_<FORCE>_KAFKA_USERNAME``/``_PASSWORD``), which the brokers let write
police.intelligence and nothing else (docs/security.md, "Kafka").
"""

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from referral_schemas import Envelope, serialize_event
from referral_schemas.topics import POLICE_INTELLIGENCE

from services.hub.connect import force_kafka, force_signer


@dataclass(frozen=True)
class Published:
    topic: str
    key: str
    partition: int
    offset: int


async def publish_as_force(stack: dict[str, str], force: str, envelope: Envelope[Any]) -> Published:
    """Publish one intelligence event of ``force`` (acks from every replica), keyed
    ``<force>:<intelligence_ref>`` as the contract requires."""
    key = envelope.data.kafka_key()
    if not key.startswith(f"{force}:"):
        raise ValueError("a force publishes only its own intelligence")
    signer = force_signer(stack, force)
    producer = AIOKafkaProducer(
        **force_kafka(stack, force).client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        value = serialize_event(envelope)
        headers = signer.headers(POLICE_INTELLIGENCE, key.encode(), value)
        meta = await producer.send_and_wait(
            POLICE_INTELLIGENCE, value, key=key.encode(), headers=headers
        )
    finally:
        await producer.stop()
    return Published(POLICE_INTELLIGENCE, key, meta.partition, meta.offset)
