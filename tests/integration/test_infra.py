"""The local stack really runs: broker, topics, database roles and the ``hub infra`` CLI."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from referral_schemas.topics import (
    ACCESS_EVENTS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)
from typer.testing import CliRunner

from infra.database import ensure_service_role
from infra.settings import InfraSettings, Retention
from infra.topics import DAY_MS, LARGE, TOPICS, ensure_topics, partition_counts, topic_specs
from services.hub.main import app
from tests.support.kafka_auth import access, client_kwargs

pytestmark = pytest.mark.integration

PROBE = "infra_probe"


@pytest.fixture
async def kafka_admin(stack_env: dict[str, str]) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client on the test broker."""
    admin = AIOKafkaAdminClient(**client_kwargs(stack_env["HUB_KAFKA_BOOTSTRAP"]))
    await admin.start()
    yield admin
    await admin.close()


async def test_every_broker_answers_metadata_on_loopback(
    kafka_admin: AIOKafkaAdminClient, infra_settings: InfraSettings
) -> None:
    cluster = await kafka_admin.describe_cluster()
    brokers = sorted((broker["host"], broker["port"]) for broker in cluster["brokers"])
    assert brokers == [("127.0.0.1", port) for port in infra_settings.kafka_ports]


async def test_every_partition_has_one_replica_per_node_and_topics_want_a_majority_in_sync(
    kafka_admin: AIOKafkaAdminClient, infra_settings: InfraSettings
) -> None:
    described = await kafka_admin.describe_topics([spec.name for spec in TOPICS])
    replicas = {len(p["replicas"]) for topic in described for p in topic["partitions"]}
    assert replicas == {infra_settings.kafka_replication}
    resources = [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in TOPICS]
    in_sync = {
        entry["config_value"]
        for response in await kafka_admin.describe_configs(resources)
        for resource in response.to_object()["resources"]
        for entry in resource["config_entries"]
        if entry["config_names"] == "min.insync.replicas"
    }
    assert in_sync == {"2" if infra_settings.kafka_brokers == 3 else "1"}


async def test_every_topic_exists_with_its_partition_count(
    kafka_admin: AIOKafkaAdminClient,
) -> None:
    counts = await partition_counts(kafka_admin)
    assert {spec.name: counts.get(spec.name) for spec in TOPICS} == {
        spec.name: spec.partitions for spec in TOPICS
    }


async def _topic_configs(admin: AIOKafkaAdminClient) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in TOPICS]
    responses = await admin.describe_configs(resources)
    return {
        resource["resource_name"]: {
            e["config_names"]: e["config_value"] for e in resource["config_entries"]
        }
        for response in responses
        for resource in response.to_object()["resources"]
    }


async def test_the_log_is_kept_for_ever_and_raw_input_for_its_retention_period(
    kafka_admin: AIOKafkaAdminClient,
) -> None:
    configs = await _topic_configs(kafka_admin)
    days = {name: int(c["retention.ms"]) // DAY_MS for name, c in configs.items()}
    assert days == {
        REFERRAL_EVENTS: -1,
        POLICE_OUTCOMES: -1,
        ACCESS_EVENTS: -1,
        DIRECTORY: -1,
        POLICE_INTELLIGENCE: 30,
        DEAD_LETTER: 30,
    }
    for spec in TOPICS:
        assert {key: configs[spec.name][key] for key in spec.config} == dict(spec.config)
    # One copy per refused record, and a purge's tombstone removes it (dead_letter.py).
    assert configs[DEAD_LETTER]["cleanup.policy"] == "compact,delete"


async def test_a_changed_retention_period_reaches_existing_topics(
    stack_env: dict[str, str], infra_settings: InfraSettings, kafka_admin: AIOKafkaAdminClient
) -> None:
    kafka = access(stack_env["HUB_KAFKA_BOOTSTRAP"])
    replication = infra_settings.kafka_replication
    try:
        await ensure_topics(kafka, topic_specs(Retention(7, 2)), replication=replication)
        configs = await _topic_configs(kafka_admin)
        assert int(configs[POLICE_INTELLIGENCE]["retention.ms"]) == 7 * DAY_MS
        assert int(configs[DEAD_LETTER]["retention.ms"]) == 2 * DAY_MS
        assert configs[REFERRAL_EVENTS]["retention.ms"] == "-1"
        assert configs[POLICE_INTELLIGENCE]["max.message.bytes"] == LARGE["max.message.bytes"]
    finally:
        await ensure_topics(kafka, topic_specs(infra_settings.retention), replication=replication)
    assert int((await _topic_configs(kafka_admin))[POLICE_INTELLIGENCE]["retention.ms"]) == (
        30 * DAY_MS
    )


async def test_ensure_topics_is_idempotent(stack_env: dict[str, str]) -> None:
    report = await ensure_topics(access(stack_env["HUB_KAFKA_BOOTSTRAP"]))
    assert report.created == ()
    assert dict(report.mismatched) == {}


async def test_service_role_creates_tables_only_in_its_own_schema(
    stack_env: dict[str, str],
) -> None:
    intake = await asyncpg.connect(stack_env["INTAKE_DATABASE_URL"])
    routing = await asyncpg.connect(stack_env["ROUTING_DATABASE_URL"])
    try:
        await intake.execute(f"CREATE TABLE IF NOT EXISTS {PROBE} (id int)")
        await routing.execute(f"CREATE TABLE IF NOT EXISTS {PROBE} (id int)")
        assert await intake.fetchval("SELECT current_schema()") == "intake"
        assert await intake.fetchval(f"SELECT count(*) FROM intake.{PROBE}") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await intake.fetch(f"SELECT * FROM routing.{PROBE}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await intake.execute(f"CREATE TABLE public.{PROBE} (id int)")
    finally:
        await intake.execute(f"DROP TABLE IF EXISTS intake.{PROBE}")
        await routing.execute(f"DROP TABLE IF EXISTS routing.{PROBE}")
        await intake.close()
        await routing.close()


async def test_service_role_is_idempotent_and_keeps_its_password(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    admin = stack_env["HUB_ADMIN_DATABASE_URL"]
    dsn = await ensure_service_role(admin, "intake", settings=infra_settings)
    assert dsn == stack_env["INTAKE_DATABASE_URL"]


def test_hub_infra_status_shows_every_server_running(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    result = CliRunner().invoke(app, ["infra", "status"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.count("│") > 3}
    addresses = stack_env["HUB_KAFKA_BOOTSTRAP"].split(",")
    names = ["kafka"] if len(addresses) == 1 else [f"kafka-{n}" for n in (1, 2, 3)]
    for name, address in zip(names, addresses, strict=True):
        assert "running" in rows[name]
        assert address in rows[name]
    assert "running" in rows["postgres"]
