"""hub.dead-letter holds refused records unchanged, personal data included: on the test
stack's real broker every service may write its refusals there, and none may read them back
(the audit ledger's principal neither); the operator reads them."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError
from referral_schemas.topics import DEAD_LETTER

from infra.kafka_principals import SERVICE_ACCESS
from services.runtime.kafka_clients import KafkaAccess, make_producer
from tests.support.kafka_auth import access, service_access

pytestmark = pytest.mark.security


async def read_back(kafka: KafkaAccess, tp: TopicPartition, offset: int) -> list[bytes]:
    """What ``kafka``'s principal gets reading ``tp`` from ``offset`` for a few seconds."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batches = await consumer.getmany(tp, timeout_ms=3000)
        return [r.value or b"" for r in batches.get(tp, [])]
    finally:
        await consumer.stop()


async def described(kafka: KafkaAccess) -> bool:
    """Whether the brokers describe hub.dead-letter to ``kafka``'s principal."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=10_000)
    await admin.start()
    try:
        [topic] = await admin.describe_topics([DEAD_LETTER])
    finally:
        await admin.close()
    return bool(topic["error_code"] == 0)


async def test_services_write_refusals_but_only_the_operator_reads_them(
    stack_env: dict[str, str],
) -> None:
    refused = f'{{"refused": "{uuid.uuid4()}"}}'.encode()
    key = f"security-test/0/{uuid.uuid4().int % 10**9}".encode()
    producer = make_producer(service_access(stack_env, "intake"), "dead-letter-access-test")
    await producer.start()
    try:
        sent = await producer.send_and_wait(DEAD_LETTER, refused, key=key)
    finally:
        await producer.stop()
    tp = TopicPartition(DEAD_LETTER, sent.partition)
    operator = access(stack_env["HUB_KAFKA_BOOTSTRAP"])
    try:
        assert await read_back(operator, tp, sent.offset) == [refused]
        for service, may in SERVICE_ACCESS.items():
            kafka = service_access(stack_env, service)
            if DEAD_LETTER in may.writes:  # it may describe the topic, and is refused a fetch
                with pytest.raises(TopicAuthorizationFailedError):
                    await read_back(kafka, tp, sent.offset)
            else:  # audit: to it the topic does not exist, so nothing comes back
                assert not await described(kafka), service
                assert await read_back(kafka, tp, sent.offset) == [], service
    finally:
        tombstone = make_producer(operator, "dead-letter-access-test")
        await tombstone.start()
        try:
            await tombstone.send_and_wait(DEAD_LETTER, None, key=key)
        finally:
            await tombstone.stop()
