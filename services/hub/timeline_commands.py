"""`hub referrals show ID`: one referral's timeline across services, read from Kafka.

Every service keys a referral's records by its id, so the referral's events sit in one
partition of each topic: the one the default (murmur2) partitioner picks for the key. Those
partitions are read from the start to the end as they were when the command began.

Only fields on an allowlist are printed (codes, references, agencies, times): names,
addresses and dates of birth never reach the terminal, whatever an event carries.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from referral_schemas.access_v1 import ConsultationPurpose
from referral_schemas.topics import ACCESS_EVENTS, POLICE_OUTCOMES, REFERRAL_EVENTS
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.hub.connect import stack_env
from services.hub.consultation import record_consultation
from services.runtime.kafka_clients import MAX_REQUEST_BYTES

TOPICS = (REFERRAL_EVENTS, POLICE_OUTCOMES, ACCESS_EVENTS)
_STALL_TIMEOUT_S = 30.0

SAFE_FIELDS = (
    "force",
    "intelligence_ref",
    "intelligence_refs",
    "withdrawn_intelligence_refs",
    "link_basis",
    "risk_level",
    "reason_categories",
    "postcode_district",
    "from_agency",
    "to_agency",
    "area",
    "cause",
    "reason",
    "method",
    "result",
    "level",
    "worker",
    "outcome",
    "due_by",
    "first_contact_at",
    "directory_version",
    "isa_version",
    "user",
    "role",
    "purpose",
    "via",
)
"""Data fields that may be printed, in printing order: codes, references and times only.
A field not listed here (subject, address, phone...) is never shown."""


@dataclass(frozen=True)
class TimelineRecord:
    topic: str
    partition: int
    offset: int
    value: bytes


def partition_for(referral_id: str, partitions: list[int]) -> int:
    """The partition producers using the default partitioner put this key in."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(referral_id.encode(), ordered, ordered))


async def _partitions(bootstrap: str, topics: tuple[str, ...]) -> dict[str, list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found = {d["topic"]: [p["partition"] for p in d["partitions"]] for d in described}
    return {topic: found[topic] for topic in topics if found.get(topic)}


async def read_keyed(bootstrap: str, key: str) -> list[TimelineRecord]:
    """Every record with ``key`` on the referral topics, scanned from offset 0 to the end."""
    by_topic = await _partitions(bootstrap, TOPICS)
    wanted = [TopicPartition(t, partition_for(key, ps)) for t, ps in by_topic.items()]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign(wanted)
        starts = await consumer.beginning_offsets(wanted)
        ends = await consumer.end_offsets(wanted)
        for tp in wanted:
            consumer.seek(tp, starts[tp])
        pending = {tp for tp in wanted if ends[tp] > starts[tp]}
        found: list[TimelineRecord] = []
        loop = asyncio.get_running_loop()
        stalled_since = loop.time()
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                stalled_since = loop.time()
                found += [
                    TimelineRecord(tp.topic, tp.partition, r.offset, r.value or b"")
                    for r in records
                    if r.offset < ends[tp] and r.key == key.encode()
                ]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if pending and loop.time() - stalled_since > _STALL_TIMEOUT_S:
                raise TimeoutError("Kafka stopped answering while the topics were read")
        return found
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class TimelineRow:
    at: datetime | None
    event: str
    actor: str
    agency: str
    details: str
    order: tuple[int, int]
    """Topic and offset: keeps records of the same instant in the order they were written."""


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
    return str(value)


def _time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def row_of(record: TimelineRecord) -> TimelineRow:
    """What may be shown of one record: allowlisted fields only."""
    order = (TOPICS.index(record.topic), record.offset)
    try:
        body = json.loads(record.value)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        return TimelineRow(None, "(unreadable record)", "", "", where, order)
    data: dict[str, Any] = body["data"]
    details = "; ".join(
        f"{name}: {_text(data[name])}"
        for name in SAFE_FIELDS
        if data.get(name) not in (None, [], "")
    )
    agency = body.get("agency") or data.get("agency") or data.get("to_agency") or ""
    return TimelineRow(
        at=_time(body.get("time")),
        event=str(body.get("type", "?")),
        actor=str(body.get("actor", "")),
        agency=str(agency),
        details=details,
        order=order,
    )


def timeline(records: list[TimelineRecord]) -> list[TimelineRow]:
    """Rows in time order (records without a readable time last)."""
    rows = [row_of(r) for r in records]
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.at or never, r.order))


def _referral_key(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        Console(stderr=True).print(
            "not a referral id: expected a UUID such as 3f2b6c1e-0d4a-4f7b-9a51-2c8e7d6b4a10 "
            "(see `hub referrals list`)",
            markup=False,
        )
        raise typer.Exit(1) from None


def show(
    referral_id: Annotated[str, typer.Argument(help="The referral's id (a UUID).")],
) -> None:
    """One referral's timeline across services: its events, its outcome report to the
    police and who consulted it, in time order. Shows codes and references, never names,
    addresses or dates of birth."""
    key = _referral_key(referral_id)
    bootstrap = stack_env()["HUB_KAFKA_BOOTSTRAP"]
    try:
        records = asyncio.run(read_keyed(bootstrap, key))
        if records:
            asyncio.run(
                record_consultation(
                    bootstrap, uuid.UUID(key), ConsultationPurpose.AUDIT, "hub referrals show"
                )
            )
    except (KafkaError, TimeoutError) as err:
        Console(stderr=True).print(f"cannot read Kafka at {bootstrap} ({type(err).__name__})")
        raise typer.Exit(1) from err
    rows = timeline(records)
    if not rows:
        Console(stderr=True).print(
            f"no referral {key}: nothing with this id on {', '.join(TOPICS)}", markup=False
        )
        raise typer.Exit(1)
    table = Table("time (UTC)", "event", "actor", "agency", "details", title=f"Referral {key}")
    for row in rows:
        at = f"{row.at:%Y-%m-%d %H:%M:%S}" if row.at else "?"
        table.add_row(*(Text(cell) for cell in (at, row.event, row.actor, row.agency, row.details)))
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{len(rows)} record(s)")
