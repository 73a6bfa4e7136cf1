"""The Kafka topics of referral-hub, created explicitly (the broker never auto-creates).

The event log is the system of record: referral.events, police.outcomes, hub.access and
hub.directory keep their records for ever (retention.ms=-1), and auditors replay them from
offset 0. The two topics that hold raw input keep it only for a while (docs/privacy.md):
police.intelligence (the force's own record: intake keeps what it needs in its store) and
hub.dead-letter (refused records, kept long enough to look at and re-drive), for
HUB_RETENTION_INTELLIGENCE_DAYS and HUB_RETENTION_DEAD_LETTER_DAYS (30 each by default).
``ensure_topics`` sets these on existing topics too, so a changed period takes effect at the
next `hub infra up`.

hub.dead-letter is also compacted (``dead_letter_config``): every copy of one refused record
has the same key (services/runtime/dead_letter.py), so the log cleaner keeps one, and a
purge's tombstone removes them all. Its segments roll hourly and any dirt makes it cleanable,
so a duplicate or a purged record's bytes are gone from the log within about an hour.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from referral_schemas import topics as names

from infra import InfraError
from infra.settings import Retention
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


DAY_MS = 24 * 60 * 60 * 1000


def keep_for(days: int) -> dict[str, str]:
    """Records older than ``days`` go (segment by segment: a day's segments roll daily)."""
    return {"retention.ms": str(days * DAY_MS), "segment.ms": str(DAY_MS)}


HOUR_MS = 60 * 60 * 1000


def dead_letter_config(days: int) -> dict[str, str]:
    """Kept ``days``, compacted: one copy per key, purged keys dropped (tombstones kept an
    hour, long enough for a reader that started before the purge to see it)."""
    return {
        **keep_for(days),
        **LARGE,
        "cleanup.policy": "compact,delete",
        "segment.ms": str(HOUR_MS),
        "max.compaction.lag.ms": str(HOUR_MS),
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": str(HOUR_MS),
    }


def topic_specs(retention: Retention | None = None) -> tuple[TopicSpec, ...]:
    keep = retention or Retention()
    return (
        # Hourly segments: raw records an erasure takes off the log leave the disk once
        # their segment closes, and a deleted segment's files go 5 s later instead of 60
        # (services/hub/raw_intelligence.py).
        TopicSpec(
            names.POLICE_INTELLIGENCE,
            6,
            {
                **keep_for(keep.intelligence_days),
                **LARGE,
                "segment.ms": str(HOUR_MS),
                "file.delete.delay.ms": "5000",
            },
        ),
        TopicSpec(names.REFERRAL_EVENTS, 6, KEEP_FOREVER),
        TopicSpec(names.POLICE_OUTCOMES, 3, KEEP_FOREVER),
        TopicSpec(names.ACCESS_EVENTS, 3, KEEP_FOREVER),
        TopicSpec(names.DEAD_LETTER, 3, dead_letter_config(keep.dead_letter_days)),
        # One partition: directory versions must be read in the order they were published.
        TopicSpec(names.DIRECTORY, 1, KEEP_FOREVER),
    )


TOPICS: tuple[TopicSpec, ...] = topic_specs()


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
    """Create missing topics with ``replication`` replicas, set every existing one's config
    to its spec's, and compare partition counts (as a principal allowed to: the operator)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        existing = await partition_counts(admin)
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await _create(admin, missing, replication)
        present = [spec for spec in specs if spec.name in existing]
        if present:
            await _configure(admin, present, replication)
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


async def _configure(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int) -> None:
    """Each topic's whole config, as its spec says (AlterConfigs replaces what it names and
    resets the rest to the brokers' defaults, so the spec is the complete set)."""
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, s.name, {**durability(replication), **s.config})
        for s in specs
    ]
    errors = []
    for response in await admin.alter_configs(resources):
        for code, message, _kind, name in response.resources:
            if code != 0:
                errors.append(f"{name}: {message or code}")
    if errors:
        raise InfraError("could not set topic configs: " + "; ".join(errors))


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
