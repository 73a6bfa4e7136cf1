"""The brokers of a running stack, probed as an attacker on the same machine would.

Real Kafka (the test stack): nobody connects without a principal's password, a force's
sending system may write intelligence and nothing else, a service reads, writes and joins
only what the ACL table (infra/kafka_principals.py) gives it, and `hub infra up` puts back
what was taken away or added behind its back. That every service can do what it needs is
what the rest of the suite shows: each runs on its own principal.
"""

import asyncio
import uuid
from collections.abc import Iterable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr
from referral_schemas.topics import (
    ALL_TOPICS,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra import InfraError, stack
from infra.kafka_config import controller_addresses
from infra.kafka_principals import BROKER, OPERATOR, SERVICE_ACCESS, AclBinding, desired_bindings
from infra.kafka_protocol import ControllerAdmin
from infra.kafka_security import controller_admin
from infra.kafka_users import ensure_kafka_users
from infra.settings import InfraSettings
from services.runtime.kafka_clients import KafkaAccess, make_producer
from tests.support.kafka_auth import access, force_access, service_access
from tests.support.waiting import eventually

pytestmark = pytest.mark.security

TOPIC_AUTHORIZATION_FAILED = 29
SERVICES = tuple(SERVICE_ACCESS)


async def connects(kafka: KafkaAccess) -> bool:
    """Whether ``kafka``'s principal gets a metadata answer from the brokers."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=5000)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except KafkaError:
        return False
    finally:
        await admin.close()


async def visible_topics(kafka: KafkaAccess, topics: Iterable[str] = ALL_TOPICS) -> set[str]:
    """The topics the brokers describe to ``kafka``'s principal (the others answer
    TOPIC_AUTHORIZATION_FAILED: to it they do not exist)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    refused = {t["topic"] for t in described if t["error_code"] == TOPIC_AUTHORIZATION_FAILED}
    return {t["topic"] for t in described if t["error_code"] == 0} - refused


async def fetched(kafka: KafkaAccess, tp: TopicPartition, offset: int) -> list[bytes]:
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


def hub_acls(found: set[AclBinding], principals: Iterable[str]) -> set[AclBinding]:
    named = {f"User:{p}" for p in principals}
    return {b for b in found if b.principal in named}


async def test_a_client_without_credentials_is_refused(stack_env: dict[str, str]) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=stack_env["HUB_KAFKA_BOOTSTRAP"])
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()
    assert not await connects(
        KafkaAccess(stack_env["HUB_KAFKA_BOOTSTRAP"], security_protocol="PLAINTEXT")
    )


@pytest.mark.parametrize(
    ("who", "password_of"),
    [("intake", None), ("intake", "FEEDBACK"), ("nobody", "INTAKE"), (OPERATOR, "INTAKE")],
)
async def test_a_wrong_password_or_an_unknown_principal_is_refused(
    stack_env: dict[str, str], who: str, password_of: str | None
) -> None:
    password = (
        "not-the-password" if password_of is None else stack_env[f"{password_of}_KAFKA_PASSWORD"]
    )
    impostor = KafkaAccess(stack_env["HUB_KAFKA_BOOTSTRAP"], who, SecretStr(password))

    assert not await connects(impostor)
    assert await connects(service_access(stack_env, "intake")), "intake's own password works"


async def test_the_controller_listener_admits_the_brokers_principal_only(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    controllers = controller_addresses(infra_settings)
    broker_password = ensure_kafka_users(infra_settings).password(BROKER)
    assert await ControllerAdmin(controllers, BROKER, broker_password).acls()
    for name, password in [
        (OPERATOR, stack_env["HUB_KAFKA_PASSWORD"]),
        ("intake", stack_env["INTAKE_KAFKA_PASSWORD"]),
        (BROKER, "not-the-password"),
    ]:
        with pytest.raises(InfraError):
            await ControllerAdmin(controllers, name, password).acls()


async def test_a_force_system_writes_intelligence_and_nothing_else(
    stack_env: dict[str, str],
) -> None:
    force = force_access(stack_env, "cumbria")
    producer = make_producer(force, "kafka-security-test")
    await producer.start()
    try:
        key = f"cumbria:kafka-security-{uuid.uuid4().hex[:8]}".encode()
        sent = await producer.send_and_wait(POLICE_INTELLIGENCE, b"{}", key=key)
        for topic in (REFERRAL_EVENTS, DIRECTORY, POLICE_OUTCOMES):
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"{}", key=key)
    finally:
        await producer.stop()

    tp = TopicPartition(POLICE_INTELLIGENCE, sent.partition)
    assert await fetched(access(stack_env["HUB_KAFKA_BOOTSTRAP"]), tp, sent.offset) == [b"{}"]
    with pytest.raises(TopicAuthorizationFailedError):  # not even its own, nor another force's
        await fetched(force, tp, sent.offset)
    assert await visible_topics(force) == {POLICE_INTELLIGENCE}


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_sees_only_the_topics_it_reads_or_writes(
    stack_env: dict[str, str], service: str
) -> None:
    own = SERVICE_ACCESS[service]

    assert await visible_topics(service_access(stack_env, service)) == {*own.reads, *own.writes}


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_cannot_publish_where_it_does_not(
    stack_env: dict[str, str], service: str
) -> None:
    forbidden = sorted(set(ALL_TOPICS) - set(SERVICE_ACCESS[service].writes))
    producer = make_producer(service_access(stack_env, service), "kafka-security-test")
    await producer.start()
    try:
        for topic in forbidden:
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"{}", key=b"kafka-security-test")
    finally:
        await producer.stop()
    assert POLICE_INTELLIGENCE in forbidden, "no service can pose as a force"


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_cannot_commit_or_read_offsets_in_another_services_group(
    stack_env: dict[str, str], service: str
) -> None:
    own = SERVICE_ACCESS[service]
    kafka = service_access(stack_env, service)
    tp = TopicPartition(own.reads[0], 0)

    async def in_group(group: str, commit: bool) -> None:
        consumer = AIOKafkaConsumer(
            **kafka.client_kwargs(), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            if commit:
                await consumer.commit({tp: 0})
            else:
                await consumer.committed(tp)
        finally:
            await consumer.stop()

    await in_group(str(own.group), commit=False)  # its own group's offsets: allowed
    for other in SERVICES:
        group = SERVICE_ACCESS[other].group
        if other == service or group is None:
            continue
        with pytest.raises(GroupAuthorizationFailedError):
            await in_group(group, commit=True)
        with pytest.raises(GroupAuthorizationFailedError):
            await in_group(group, commit=False)


async def test_the_brokers_hold_exactly_the_acl_table(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    users = ensure_kafka_users(infra_settings)
    held = await controller_admin(infra_settings, users).acls()
    wanted = desired_bindings(infra_settings.kafka_force_list)

    assert hub_acls(held, users.passwords) == wanted


async def test_hub_infra_up_restores_a_lost_credential_and_removes_a_stray_grant(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    users = ensure_kafka_users(infra_settings)
    brokers = controller_admin(infra_settings, users)
    routing, feedback = service_access(stack_env, "routing"), service_access(stack_env, "feedback")
    stray = AclBinding("User:feedback", "topic", POLICE_INTELLIGENCE, "literal", "read")
    await brokers.alter_scram({}, ["routing"])
    await brokers.create_acls([stray])
    try:

        async def tampered() -> bool:
            sees = POLICE_INTELLIGENCE in await visible_topics(feedback)
            return sees and not await connects(routing)

        await eventually(tampered, "routing locked out, feedback reading intelligence")
    finally:
        await asyncio.to_thread(stack.up, infra_settings)

    async def repaired() -> bool:
        sees = POLICE_INTELLIGENCE in await visible_topics(feedback)
        return not sees and await connects(routing)

    await eventually(repaired, "routing back in, feedback's stray grant gone")


async def test_a_force_left_out_of_the_stack_loses_its_principal(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    wider = infra_settings.model_copy(update={"kafka_forces": "cumbria,lancashire"})
    try:
        env = await asyncio.to_thread(stack.up, wider)
        lancashire = force_access(env, "lancashire")
        assert lancashire.username == "force-lancashire"
        await eventually(lambda: connects(lancashire), "lancashire's system connects")
        assert await visible_topics(lancashire) == {POLICE_INTELLIGENCE}
    finally:
        env = await asyncio.to_thread(stack.up, infra_settings)

    assert not [key for key in env if key.startswith("HUB_FORCE_LANCASHIRE")]

    async def revoked() -> bool:
        return not await connects(lancashire)

    await eventually(revoked, "lancashire's system refused")
    users = ensure_kafka_users(infra_settings)
    held = await controller_admin(infra_settings, users).acls()
    assert not hub_acls(held, ["force-lancashire"])
