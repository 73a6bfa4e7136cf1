"""The Kafka topics of referral-hub, created explicitly (the broker never auto-creates).

Every topic keeps its records forever (retention.ms=-1): the event log is the system of
record, and auditors replay ``referral.events`` from offset 0.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from referral_schemas import topics as names

from infra import InfraError
from services.runtime.kafka_clients import KafkaAccess

KEEP_FOREVER = {"retention.ms": "-1"}
LARGE = {"max.message.bytes": str(4 * 1024 * 1024)}
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    """A topic, its partition count (parallelism per consumer group) and its config."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(names.POLICE_INTELLIGENCE, 6, {**KEEP_FOREVER, **LARGE}),
    TopicSpec(names.REFERRAL_EVENTS, 6, KEEP_FOREVER),
    TopicSpec(names.POLICE_OUTCOMES, 3, KEEP_FOREVER),
    TopicSpec(names.ACCESS_EVENTS, 3, KEEP_FOREVER),
    TopicSpec(names.DEAD_LETTER, 3, {**KEEP_FOREVER, **LARGE}),
    # One partition: directory versions must be read in the order they were published.
    TopicSpec(names.DIRECTORY, 1, KEEP_FOREVER),
)


@dataclass(frozen=True)
class TopicReport:
    """What ``ensure_topics`` did: topics it created, and existing ones with a wrong count.

    ``mismatched`` maps a topic to (expected, actual) partitions. It is reported, not fixed:
    adding partitions would move keys to other partitions and break per-referral ordering.
    """

    created: tuple[str, ...]
    mismatched: Mapping[str, tuple[int, int]]


def durability(replication: int) -> dict[str, str]:
    """Topic config for ``replication`` replicas: with three, a write is acknowledged once two
    hold it (producers send acks=all), so one node may fail without losing or refusing it."""
    return {"min.insync.replicas": "2" if replication >= 3 else "1"}


async def ensure_topics(
    kafka: KafkaAccess, specs: tuple[TopicSpec, ...] = TOPICS, *, replication: int = 1
) -> TopicReport:
    """Create missing topics with ``replication`` replicas and compare partition counts
    (as a principal allowed to: the operator)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        existing = await partition_counts(admin)
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await _create(admin, missing, replication)
        mismatched = {
            spec.name: (spec.partitions, existing[spec.name])
            for spec in specs
            if spec.name in existing and existing[spec.name] != spec.partitions
        }
        return TopicReport(tuple(spec.name for spec in missing), mismatched)
    finally:
        await admin.close()


async def partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    """Partition count of every topic in the cluster (internal ones included)."""
    described = await admin.describe_topics()
    return {str(topic["topic"]): len(topic["partitions"]) for topic in described}


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int) -> None:
    """Create ``specs``; a topic created concurrently by someone else is fine."""
    new = [
        NewTopic(
            s.name,
            s.partitions,
            replication,
            topic_configs={**durability(replication), **s.config},
        )
        for s in specs
    ]
    response = await admin.create_topics(new)
    errors = [
        f"{err['topic']}: {err.get('error_message') or err['error_code']}"
        for err in response.to_object()["topic_errors"]
        if err["error_code"] not in (0, TOPIC_ALREADY_EXISTS)
    ]
    if errors:
        raise InfraError("could not create topics: " + "; ".join(errors))
