"""`hub kafka TOOL` runs Kafka's own tools from the fetched jars against the test stack."""

import os
import subprocess
import sys
import zipfile

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from referral_schemas.topics import REFERRAL_EVENTS

from infra.kafka_local import ensure_jars
from infra.kafka_tools import TOOLS
from infra.settings import KAFKA_VERSION, InfraSettings
from infra.topics import TOPICS
from tests.support.kafka_auth import client_kwargs

pytestmark = pytest.mark.integration


def hub_kafka(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `hub kafka` command in a process of its own (the tool writes to its stdout)."""
    return subprocess.run(
        [sys.executable, "-m", "services.hub.main", "kafka", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
        check=False,
    )


def test_every_offered_tool_has_its_main_class_in_the_fetched_jars(
    infra_settings: InfraSettings,
) -> None:
    libs = ensure_jars(infra_settings)
    classes: set[str] = set()
    for jar in (f"kafka-tools-{KAFKA_VERSION}.jar", f"kafka_2.13-{KAFKA_VERSION}.jar"):
        with zipfile.ZipFile(libs / jar) as archive:
            classes |= {
                name.removesuffix(".class").replace("/", ".") for name in archive.namelist()
            }
    assert {t.main_class for t in TOOLS.values()} <= classes


def test_kafka_topics_lists_every_topic_of_the_stack(stack_env: dict[str, str]) -> None:
    result = hub_kafka("kafka-topics", "--list")

    assert result.returncode == 0, result.stderr
    assert {spec.name for spec in TOPICS} <= set(result.stdout.split())


def test_kafka_topics_describes_how_a_topic_is_kept(stack_env: dict[str, str]) -> None:
    result = hub_kafka("topics", "--describe", "--topic", "referral.events")

    assert result.returncode == 0, result.stderr
    assert "PartitionCount: 6" in result.stdout
    assert "retention.ms=-1" in result.stdout


async def test_kafka_consumer_groups_shows_a_groups_committed_offsets(
    stack_env: dict[str, str],
) -> None:
    group = "kafka-tools-probe"
    consumer = AIOKafkaConsumer(**client_kwargs(stack_env["HUB_KAFKA_BOOTSTRAP"]), group_id=group)
    await consumer.start()
    try:
        partition = TopicPartition(REFERRAL_EVENTS, 0)
        consumer.assign([partition])
        await consumer.commit({partition: 0})
    finally:
        await consumer.stop()

    result = hub_kafka("kafka-consumer-groups", "--describe", "--group", group)

    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [group, REFERRAL_EVENTS, "0", "0"] in [row[:4] for row in rows]


def test_kafka_acls_lists_what_each_service_may_do_as_the_operator(
    stack_env: dict[str, str],
) -> None:
    # No --command-config given: hub kafka passes the operator's client properties itself.
    result = hub_kafka("kafka-acls", "--list", "--principal", "User:feedback")

    assert result.returncode == 0, result.stderr
    listed = " ".join(result.stdout.split())
    assert "name=police.outcomes, patternType=LITERAL" in listed
    assert "principal=User:feedback, host=*, operation=WRITE, permissionType=ALLOW" in listed
    assert "name=feedback, patternType=LITERAL" in listed
    assert "police.intelligence" not in listed, "feedback never reads intelligence"


def test_a_withheld_tool_is_refused_with_the_reason(stack_env: dict[str, str]) -> None:
    result = hub_kafka("kafka-console-consumer", "--topic", "referral.events")

    assert result.returncode == 2
    assert "hub referrals show" in " ".join(result.stderr.split())
