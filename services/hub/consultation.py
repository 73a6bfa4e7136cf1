"""Operators' reads of a referral through the CLI are consultations too (DPA 2018 s.62):
each is published as a ReferralConsulted on hub.access before anything is shown, so the
audit ledger records who looked, when and why."""

import getpass
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from referral_schemas import make_envelope, serialize_event
from referral_schemas.access_v1 import ConsultationPurpose, ReferralConsulted
from referral_schemas.topics import ACCESS_EVENTS

from services.hub.connect import operator_signer, stack_env
from services.runtime.kafka_clients import KafkaAccess


def operator() -> str:
    """Who is at the terminal (the login name; a deployment puts its own identity here)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown-operator"


async def record_consultation(
    kafka: KafkaAccess, referral_id: uuid.UUID, purpose: ConsultationPurpose, via: str
) -> None:
    """Publish the consultation (acks from every replica) before the caller shows anything."""
    now = datetime.now(UTC)
    user = operator()
    data = ReferralConsulted(
        referral_id=referral_id,
        user=user,
        agency=None,
        role="operator",
        purpose=purpose,
        consulted_at=now,
        via=via,
    )
    event_id = uuid.uuid4()
    envelope = make_envelope(
        data,
        id=event_id,
        source="referral-hub/hub-cli",
        time=now,
        subject=str(referral_id),
        correlation_id=event_id,
        causation_id=None,
        actor=f"user:{user}",
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        key, value = str(referral_id).encode(), serialize_event(envelope)
        await producer.send_and_wait(
            ACCESS_EVENTS,
            value,
            key=key,
            headers=operator_signer(stack_env()).headers(ACCESS_EVENTS, key, value),
        )
    finally:
        await producer.stop()
