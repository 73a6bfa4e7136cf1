"""`hub directory load FILE` and `hub directory show`: the areas-and-agencies directory.

The directory lives on the one-partition ``hub.directory`` topic: every version in full, the
last one in force. Loading validates the file, compares it with the version in force and
publishes the next version only if something changed; a refused file publishes nothing, so
the version in force stays in force.
"""

import asyncio
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from referral_schemas import DirectoryPublished, EventRejected, make_envelope, parse_event
from referral_schemas.topics import DIRECTORY, DIRECTORY_KEY
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.hub.connect import operator_kafka, operator_signer, stack_env
from services.hub.directory_file import Change, DirectoryFileError, parse_directory, show
from services.hub.directory_file import compare as compare_directories
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess, make_producer
from services.runtime.outbox import event_message
from services.runtime.provenance import EventSigner

directory_app = typer.Typer(
    no_args_is_help=True,
    help="The directory of areas and agencies that routing follows.",
    pretty_exceptions_show_locals=False,
)
T = TypeVar("T")
SOURCE = "referral-hub/hub-cli"
REFUSED = 2
_PARTITION = TopicPartition(DIRECTORY, 0)
_FETCH_TIMEOUT_S = 30.0


def _out() -> Console:
    """A console on the current stdout (so test runners that swap stdout capture it)."""
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def operator() -> str:
    """Who acts: ``user:<$USER>``, or ``user:operator`` when the login name is unknown."""
    return f"user:{os.environ.get('USER', '').strip() or 'operator'}"


@dataclass(frozen=True)
class InForce:
    directory: DirectoryPublished | None
    end_offset: int
    """Where the next version will land if nobody else publishes first."""


def _directory_of(value: bytes | None) -> DirectoryPublished | None:
    try:
        envelope = parse_event(value or b"")
    except EventRejected:
        return None
    return envelope.data if isinstance(envelope.data, DirectoryPublished) else None


async def _value_at(consumer: AIOKafkaConsumer, offset: int) -> bytes | None:
    """The record at ``offset``; None if the offset holds none (e.g. a transaction marker)."""
    consumer.seek(_PARTITION, offset)
    deadline = asyncio.get_running_loop().time() + _FETCH_TIMEOUT_S
    while asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(_PARTITION, timeout_ms=1000, max_records=1)
        for record in batches.get(_PARTITION, []):
            return record.value if record.offset == offset else None
    raise TimeoutError(f"no answer from {DIRECTORY} within {_FETCH_TIMEOUT_S:.0f}s")


async def read_in_force(kafka: KafkaAccess) -> InForce:
    """The last valid DirectoryPublished on the topic: the version in force."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign([_PARTITION])
        first = (await consumer.beginning_offsets([_PARTITION]))[_PARTITION]
        end = (await consumer.end_offsets([_PARTITION]))[_PARTITION]
        # Walk back past anything unreadable a stray producer may have left at the end.
        for offset in range(end - 1, first - 1, -1):
            directory = _directory_of(await _value_at(consumer, offset))
            if directory is not None:
                return InForce(directory, end)
        return InForce(None, end)
    finally:
        await consumer.stop()


async def publish(
    kafka: KafkaAccess, signer: EventSigner, directory: DirectoryPublished, actor: str
) -> int:
    """Publish one version, signed by the operator; returns the offset it landed at."""
    envelope = make_envelope(
        directory,
        id=uuid.uuid4(),
        source=SOURCE,
        time=directory.published_at,
        subject=DIRECTORY_KEY,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=actor,
    )
    message = event_message(DIRECTORY, DIRECTORY_KEY, envelope)
    producer = make_producer(kafka, "hub-cli")
    await producer.start()
    try:
        meta = await producer.send_and_wait(
            message.topic,
            message.value,
            key=message.key,
            headers=signer.sign(message.topic, message.key, message.value, message.headers),
            partition=_PARTITION.partition,
        )
        return int(meta.offset)
    finally:
        await producer.stop()


def _run(coroutine: Coroutine[Any, Any, T], kafka: KafkaAccess) -> T:
    try:
        return asyncio.run(coroutine)
    except (KafkaError, TimeoutError) as err:
        where = kafka.bootstrap
        _err().print(f"cannot reach Kafka at {where} ({type(err).__name__}): is it up?")
        raise typer.Exit(1) from err


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        _err().print(f"{path}: cannot read the file: {reason}")
        raise typer.Exit(REFUSED) from err


def _change_line(change: Change) -> str:
    details = f" ({'; '.join(change.details)})" if change.details else ""
    return f"  {change.kind} {change.code}: {change.what}{details}"


@directory_app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(help="Directory YAML, e.g. infra/directory/cumbria.yaml.")
    ],
) -> None:
    """Validate FILE and publish it as the next directory version, if anything changed.

    A refused file prints FILE:LINE: reason for every problem, exits 2 and publishes nothing.
    """
    actor = operator()
    text = _read_file(file)
    try:
        # Validated before Kafka is asked anything: a bad file is refused even offline.
        directory = parse_directory(
            text, filename=str(file), version=1, published_at=datetime.now(UTC), published_by=actor
        )
    except DirectoryFileError as err:
        console = _err()
        for problem in err.problems:
            console.print(problem, markup=False, soft_wrap=True)
        console.print(f"refused: {len(err.problems)} problem(s); nothing published.")
        raise typer.Exit(REFUSED) from err
    kafka = operator_kafka()
    in_force = _run(read_in_force(kafka), kafka)
    current = in_force.directory
    changes = compare_directories(current, directory)
    out = _out()
    if current is not None and not changes:
        out.print(f"{file} is identical to version {current.version} in force; nothing published.")
        return
    directory = directory.model_copy(update={"version": current.version + 1 if current else 1})
    out.print(
        f"Compared with version {current.version} in force:"
        if current
        else "No directory was in force."
    )
    for change in changes:
        out.print(_change_line(change), markup=False)
    offset = _run(publish(kafka, operator_signer(stack_env()), directory, actor), kafka)
    out.print(f"Published directory version {directory.version} to {DIRECTORY}.")
    if offset != in_force.end_offset:
        _err().print(
            "warning: another directory version was published while this one was loading; "
            "the last one published is in force. Check with `hub directory show`."
        )


def _cell(value: object) -> Text:
    """Plain text: names in the file are never read as console markup."""
    return Text(show(value))


@directory_app.command("show")
def show_command() -> None:
    """Print the directory version in force: areas with districts, agencies with their areas,
    services, capacity and acceptance deadline."""
    kafka = operator_kafka()
    in_force = _run(read_in_force(kafka), kafka)
    directory = in_force.directory
    out = _out()
    if directory is None:
        out.print("No directory has been published yet: load one with `hub directory load FILE`.")
        raise typer.Exit(1)
    out.print(
        f"Directory version {directory.version}, published "
        f"{directory.published_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by "
        f"{directory.published_by}",
        markup=False,
    )
    areas = Table("area", "name", "force", "postcode districts", title="Areas")
    for area in directory.areas:
        values = (area.code, area.name, area.force, area.postcode_districts)
        areas.add_row(*(_cell(v) for v in values))
    agencies = Table(
        "agency",
        "name",
        "areas",
        "services",
        "capacity",
        "acceptance deadline",
        "active",
        title="Agencies",
    )
    for agency in directory.agencies:
        agencies.add_row(
            *(
                _cell(v)
                for v in (
                    agency.code,
                    agency.name,
                    agency.areas,
                    agency.services,
                    agency.capacity,
                    agency.acceptance_deadline,
                    "yes" if agency.active else "no",
                )
            )
        )
    out.print(areas)
    out.print(agencies)
