"""`hub referrals show ID`: one referral's timeline across services, read from Kafka.

Every service keys a referral's records by its id, so the referral's events sit in one
partition of each topic: the one the default (murmur2) partitioner picks for the key. Those
partitions are read from the start to the end as they were when the command began.

Only fields on an allowlist are printed (codes, references, agencies, times): names,
addresses and dates of birth never reach the terminal, whatever an event carries. With
``--json`` the same rows are one JSON object, each with its ``effect``.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from referral_schemas.access_v1 import ConsultationPurpose
from referral_schemas.topics import ACCESS_EVENTS, POLICE_OUTCOMES, REFERRAL_EVENTS
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.hub.connect import operator_kafka
from services.hub.consultation import record_consultation
from services.hub.referral_fold import lifecycle_event, refusals
from services.hub.topic_reader import LogRecord, partition_for, partitions_of, read_to_end
from services.runtime.kafka_clients import KafkaAccess

TOPICS = (REFERRAL_EVENTS, POLICE_OUTCOMES, ACCESS_EVENTS)

SAFE_FIELDS = (
    "force",
    "intelligence_ref",
    "intelligence_refs",
    "withdrawn_intelligence_refs",
    "withdrawn_intelligence_ref",
    "withdrawal_reason",
    "previous_referral_id",
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


async def read_keyed(kafka: KafkaAccess, key: str) -> list[LogRecord]:
    """Every record with ``key`` on the referral topics, scanned from offset 0 to the end."""
    by_topic = await partitions_of(kafka, TOPICS)
    wanted = [TopicPartition(t, partition_for(key, ps)) for t, ps in by_topic.items()]
    return await read_to_end(kafka, wanted, key)


APPLIED = "applied"
NO_EFFECT = "no effect: "


@dataclass(frozen=True)
class TimelineRow:
    at: datetime | None
    event: str
    actor: str
    agency: str
    details: str
    order: tuple[int, int]
    """Topic and offset: keeps records of the same instant in the order they were written."""
    record: LogRecord | None = None
    fields: dict[str, Any] | None = None
    """The allowlisted data fields, as the event carries them (for --json)."""
    effect: str | None = None
    """A referral lifecycle event's effect: 'applied' or 'no effect: <code>' (the shared
    lifecycle refused it where it landed); None for other records."""


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


def row_of(record: LogRecord, effect: str | None = None) -> TimelineRow:
    """What may be shown of one record: allowlisted fields only. ``effect`` is a referral
    lifecycle event's ('applied' or 'no effect: <code>'), None for other records."""
    order = (TOPICS.index(record.topic), record.offset)
    try:
        body = json.loads(record.value)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        return TimelineRow(None, "(unreadable record)", "", "", where, order, record)
    data: dict[str, Any] = body["data"]
    fields = {name: data[name] for name in SAFE_FIELDS if data.get(name) not in (None, [], "")}
    no_effect = [effect] if effect and effect.startswith(NO_EFFECT) else []
    details = "; ".join(no_effect + [f"{name}: {_text(value)}" for name, value in fields.items()])
    agency = body.get("agency") or data.get("agency") or data.get("to_agency") or ""
    return TimelineRow(
        at=_time(body.get("time")),
        event=str(body.get("type", "?")),
        actor=str(body.get("actor", "")),
        agency=str(agency),
        details=details,
        order=order,
        record=record,
        fields=fields,
        effect=effect,
    )


def _effects(records: list[LogRecord]) -> dict[int, str]:
    """Offsets of the referral lifecycle events, with their effect ('applied' or 'no effect:
    <code>'). The fold runs in log order (offsets), whatever order the rows are shown in."""
    events = sorted((r for r in records if r.topic == REFERRAL_EVENTS), key=lambda r: r.offset)
    found = refusals(r.value for r in events)
    return {
        r.offset: NO_EFFECT + refusal.code if refusal else APPLIED
        for r, refusal in zip(events, found, strict=True)
        if refusal or lifecycle_event(r.value) is not None
    }


def timeline(records: list[LogRecord]) -> list[TimelineRow]:
    """Rows in time order (records without a readable time last); a referral event that had
    no effect where it landed on the log says so ("no effect: <code>")."""
    effects = _effects(records)
    rows = [
        row_of(r, effects.get(r.offset) if r.topic == REFERRAL_EVENTS else None) for r in records
    ]
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.at or never, r.order))


def timeline_json(referral_id: str, rows: list[TimelineRow]) -> dict[str, Any]:
    """The timeline for `--json`: the rows in the same order, with each record's position,
    its allowlisted fields as the event carries them, and its effect."""
    return {
        "referral_id": referral_id,
        "records": [
            {
                "time": row.at.isoformat() if row.at else None,
                "event": row.event,
                "actor": row.actor,
                "agency": row.agency or None,
                "topic": row.record.topic if row.record else None,
                "partition": row.record.partition if row.record else None,
                "offset": row.record.offset if row.record else None,
                "effect": row.effect,
                "fields": row.fields or {},
            }
            for row in rows
        ],
    }


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
    json_output: Annotated[
        bool,
        typer.Option("--json", help="One JSON object (each record with its effect), no table."),
    ] = False,
) -> None:
    """One referral's timeline across services: its events, its outcome report to the
    police and who consulted it, in time order. Shows codes and references, never names,
    addresses or dates of birth."""
    key = _referral_key(referral_id)
    kafka = operator_kafka()
    try:
        records = asyncio.run(read_keyed(kafka, key))
        if records:
            asyncio.run(
                record_consultation(
                    kafka, uuid.UUID(key), ConsultationPurpose.AUDIT, "hub referrals show"
                )
            )
    except (KafkaError, TimeoutError) as err:
        Console(stderr=True).print(f"cannot read Kafka at {kafka.bootstrap} ({type(err).__name__})")
        raise typer.Exit(1) from err
    rows = timeline(records)
    if not rows:
        Console(stderr=True).print(
            f"no referral {key}: nothing with this id on {', '.join(TOPICS)}", markup=False
        )
        raise typer.Exit(1)
    if json_output:
        typer.echo(json.dumps(timeline_json(key, rows), indent=2))
        return
    table = Table("time (UTC)", "event", "actor", "agency", "details", title=f"Referral {key}")
    for row in rows:
        at = f"{row.at:%Y-%m-%d %H:%M:%S}" if row.at else "?"
        table.add_row(*(Text(cell) for cell in (at, row.event, row.actor, row.agency, row.details)))
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{len(rows)} record(s)")
