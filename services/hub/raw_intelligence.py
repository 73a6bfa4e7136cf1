"""The force's raw intelligence behind erased referrals, taken off police.intelligence
(docs/privacy.md, "Erasure").

police.intelligence is the force's record: intake has handled each record within seconds and
keeps what it needs. After an erasure the raw records about the erased referrals would
otherwise stay readable until their retention ran out. Kafka cannot delete one record from
the middle of a partition; it can move a partition's start (DeleteRecords), and it deletes
only whole segments that lie wholly before that start. So each partition holding such a
record moves its start past every record that all of the services' consumer groups reading
the topic have handled (never before the last erased record): nothing not yet handled is
ever lost, and the segment holding the erased record lies wholly before the start. The
records that go with it have each been handled, and the auditors' replay takes their ledger
entries as the ledger holds them, as it does for records retention removed.

The bytes leave the broker's disk once that segment is closed: Kafka closes a partition's
open segment at the first record after ``segment.ms`` (an hour). A segment still open at the
erasure also takes the records that arrive until it closes, which lie after the new start;
so for an erased record younger than ``segment.ms`` the answer says when to run the erasure
again, which moves the start past them too.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.admin.records_to_delete import RecordsToDelete
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS, intelligence_key

from services.hub.topic_reader import partition_for, partitions_of, read_to_end
from services.runtime.kafka_clients import KafkaAccess


@dataclass(frozen=True)
class Truncation:
    removed: dict[int, int]
    """partition -> the offset it now starts at."""
    waiting: dict[int, str]
    """partition -> a consumer group that has not yet read past the records."""
    found: int
    """How many raw records of the erased referrals were found."""
    segment_open_until: dict[int, datetime]
    """partition (of ``removed``) -> when the segment holding its newest erased record closes
    at the latest; erasing again after that takes its bytes off the disk too."""


def _keys_in(values: Iterable[bytes]) -> set[str]:
    """The police.intelligence keys of the intelligence a referral's events name."""
    keys: set[str] = set()
    force = None
    for value in values:
        try:
            data = json.loads(value).get("data", {})
        except (ValueError, AttributeError):
            continue
        force = data.get("force") or force
        for ref_field, force_field in (
            ("intelligence_ref", "force"),
            ("withdrawn_intelligence_ref", "withdrawn_force"),
        ):
            ref, by = data.get(ref_field), data.get(force_field) or force
            if isinstance(ref, str) and isinstance(by, str):
                keys.add(intelligence_key(by, ref))
        for ref in data.get("withdrawn_intelligence_refs") or ():
            if isinstance(ref, str) and isinstance(force, str):
                keys.add(intelligence_key(force, ref))
    return keys


async def intelligence_keys(kafka: KafkaAccess, referral_ids: Iterable[str]) -> set[str]:
    """Every piece of intelligence the referrals' events name (opened, linked, withdrawn)."""
    partitions = (await partitions_of(kafka, (REFERRAL_EVENTS,))).get(REFERRAL_EVENTS, [])
    keys: set[str] = set()
    for rid in referral_ids:
        tp = TopicPartition(REFERRAL_EVENTS, partition_for(rid, partitions))
        records = await read_to_end(kafka, [tp], key=rid)
        keys |= _keys_in(r.value for r in records)
    return keys


def readers(env: dict[str, str]) -> tuple[str, ...]:
    """The consumer groups of the stack's services that read police.intelligence: intake,
    audit, and insights under the group it runs with now (INSIGHTS_CONSUMER_GROUP). A group
    an earlier insights rebuild left behind reads nothing any more and is not waited for."""
    return ("intake", "audit", env.get("INSIGHTS_CONSUMER_GROUP") or "insights")


async def _committed(
    admin: AIOKafkaAdminClient, wanted: list[TopicPartition], groups: tuple[str, ...]
) -> dict[TopicPartition, list[tuple[str, int]]]:
    """partition -> (group, committed offset) of each of ``groups``."""
    found: dict[TopicPartition, list[tuple[str, int]]] = {tp: [] for tp in wanted}
    for group_id in groups:
        offsets = await admin.list_consumer_group_offsets(group_id, partitions=wanted)
        for tp, meta in offsets.items():
            if tp in found and meta.offset >= 0:
                found[tp].append((group_id, meta.offset))
    return found


async def _segment_span(admin: AIOKafkaAdminClient) -> timedelta:
    """police.intelligence's ``segment.ms``: how long a partition's open segment stays open."""
    resource = ConfigResource(ConfigResourceType.TOPIC, POLICE_INTELLIGENCE, None)
    (response,) = await admin.describe_configs([resource])
    for topic in response.to_object()["resources"]:
        for entry in topic["config_entries"]:
            if entry["config_names"] == "segment.ms":
                return timedelta(milliseconds=int(entry["config_value"]))
    raise LookupError(f"{POLICE_INTELLIGENCE} has no segment.ms")


async def take_off_the_log(
    kafka: KafkaAccess, keys: set[str], groups: tuple[str, ...]
) -> Truncation:
    """Move the start of each partition holding a record keyed by ``keys`` past every record
    each of ``groups`` has handled, where each has handled the last of them (a group with
    nothing committed there has not read it)."""
    partitions = (await partitions_of(kafka, (POLICE_INTELLIGENCE,))).get(POLICE_INTELLIGENCE, [])
    wanted = [TopicPartition(POLICE_INTELLIGENCE, p) for p in partitions]
    raw_keys = {k.encode() for k in keys}
    last: dict[TopicPartition, int] = {}
    newest: dict[TopicPartition, datetime] = {}
    records = [r for r in await read_to_end(kafka, wanted) if r.key in raw_keys]
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        last[tp] = max(last.get(tp, -1), record.offset)
        stamped = record.timestamp_ms
        at = datetime.now(UTC) if stamped is None else datetime.fromtimestamp(stamped / 1000, UTC)
        newest[tp] = max(newest.get(tp, at), at)
    if not last:
        return Truncation({}, {}, 0, {})
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        committed = await _committed(admin, list(last), groups)
        ready: dict[TopicPartition, RecordsToDelete] = {}
        waiting: dict[int, str] = {}
        for tp, offset in last.items():
            done = {group: at for group, at in committed[tp] if at > offset}
            behind = [group for group in groups if group not in done]
            if behind:
                waiting[tp.partition] = behind[0]
            else:
                ready[tp] = RecordsToDelete(before_offset=min(done.values()))
        moved = await admin.delete_records(ready, timeout_ms=30_000) if ready else {}
        span = await _segment_span(admin) if moved else timedelta(0)
    finally:
        await admin.close()
    now = datetime.now(UTC)
    still_open = {tp.partition: newest[tp] + span for tp in moved if newest[tp] + span > now}
    removed = {tp.partition: at for tp, at in moved.items()}
    return Truncation(removed, waiting, len(records), still_open)
