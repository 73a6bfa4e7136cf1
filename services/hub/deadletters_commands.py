"""`hub deadletters list`: what the services refused, and why (never the payload).
`hub deadletters replay ID`: let the consumer that refused a record handle it again, once
what made it refuse is fixed, and record who asked and why."""

import asyncio
import getpass
import re
from dataclasses import dataclass

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from services.hub.connect import operator_kafka, stack_env
from services.hub.services_commands import SERVICES
from services.runtime.dead_letter import (
    NOT_REPLAYABLE,
    DeadLetter,
    find_dead_letter,
    list_dead_letters,
    release_for_replay,
)
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess, make_producer

deadletters_app = typer.Typer(no_args_is_help=True, help="Messages the services refused.")
console = Console()
REFUSING = tuple(s for s in SERVICES if s != "console")  # the console consumes no topic
_ID = re.compile(r"^(?P<service>[a-z]+)-(?P<row>[0-9]{1,18})$")


@dataclass(frozen=True)
class Letter:
    service: str
    row: DeadLetter

    @property
    def ident(self) -> str:
        return f"{self.service}-{self.row['id']}"


async def _fetch(env: dict[str, str], limit: int) -> list[Letter]:
    found: list[Letter] = []
    for service in REFUSING:
        dsn = env.get(f"{service.upper()}_DATABASE_URL")
        if dsn is None:
            continue
        conn = await asyncpg.connect(dsn)
        try:
            found += [Letter(service, row) for row in await list_dead_letters(conn, limit)]
        finally:
            await conn.close()
    found.sort(key=lambda letter: letter.row["dead_lettered_at"], reverse=True)
    return found[:limit]


@deadletters_app.command("list")
def list_command(limit: int = typer.Option(50, min=1, max=10_000)) -> None:
    """Newest first; the messages themselves are on the hub.dead-letter topic."""
    letters = asyncio.run(_fetch(stack_env(), limit))
    table = Table("id", "when (UTC)", "consumer", "reason", "detail", "from", "re-driven")
    for letter in letters:
        r = letter.row
        origin = f"{r['source_topic']}[{r['source_partition']}]@{r['source_offset']}"
        replayed = (
            f"{r['replayed_at']:%Y-%m-%d %H:%M} by {r['replayed_by']}" if r["replayed_at"] else ""
        )
        table.add_row(
            letter.ident,
            f"{r['dead_lettered_at']:%Y-%m-%d %H:%M:%S}",
            r["consumer"],
            r["reason"],
            r["detail"],
            origin,
            replayed,
        )
    console.print(table)
    console.print(f"{len(letters)} dead letter(s)")


def _parse_id(ident: str) -> tuple[str, int]:
    match = _ID.fullmatch(ident.strip())
    if match is None or match["service"] not in REFUSING:
        raise typer.BadParameter(
            f"{ident!r} is not a dead letter id: expected <service>-<number> as "
            "`hub deadletters list` shows it, e.g. casework-12"
        )
    return match["service"], int(match["row"])


async def _original(
    kafka: KafkaAccess, row: DeadLetter
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """The refused record as it is on its topic: key, value and headers (its signature)."""
    where = TopicPartition(row["source_topic"], row["source_partition"])
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign([where])
        first = (await consumer.beginning_offsets([where]))[where]
        if row["source_offset"] < first:
            raise LookupError("the record is gone from its topic (retention)")
        consumer.seek(where, row["source_offset"])
        record = await asyncio.wait_for(consumer.getone(where), timeout=30)
        if record.offset != row["source_offset"]:
            raise LookupError("the record is gone from its topic (retention or compaction)")
        return record.key, record.value or b"", list(record.headers or ())
    finally:
        await consumer.stop()


async def _replay(env: dict[str, str], service: str, row_id: int, note: str) -> str:
    conn = await asyncpg.connect(env[f"{service.upper()}_DATABASE_URL"])
    try:
        row = await find_dead_letter(conn, row_id)
        if row is None:
            raise typer.BadParameter(f"{service} has no dead letter {row_id}")
        if row["reason"] in NOT_REPLAYABLE:
            raise typer.BadParameter(
                f"refused as {row['reason']}: its producer is not trusted, so handling it "
                "again would refuse it again; the record stays refused"
            )
        kafka = operator_kafka(env)
        key, value, headers = await _original(kafka, row)
        await release_for_replay(conn, row, by=_operator(), note=note)
    finally:
        await conn.close()
    producer = make_producer(kafka, "hub-deadletters")
    await producer.start()
    try:
        # The same bytes under the producer's own signature: every consumer that handled it
        # drops the copy by its event id; the one that refused it now handles it.
        meta = await producer.send_and_wait(row["source_topic"], value, key=key, headers=headers)
    finally:
        await producer.stop()
    return f"{row['source_topic']}[{meta.partition}]@{meta.offset}"


def _operator() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator:unknown"


@deadletters_app.command("replay")
def replay_command(
    ident: str = typer.Argument(..., metavar="ID", help="As `hub deadletters list` shows it."),
    note: str = typer.Option(
        ..., "--note", min=1, help="Why it can be handled now (recorded with your name)."
    ),
) -> None:
    """Re-drive one refused record: its consumer handles it again (after the cause is fixed,
    e.g. a directory now loaded); others ignore the copy. Recorded on the dead letter."""
    service, row_id = _parse_id(ident)
    if not note.strip() or len(note) > 500:
        raise typer.BadParameter("--note must say why, in at most 500 characters")
    try:
        where = asyncio.run(_replay(stack_env(), service, row_id, note.strip()))
    except LookupError as err:
        Console(stderr=True).print(f"cannot re-drive {ident}: {err}")
        raise typer.Exit(1) from err
    console.print(f"re-driven {ident}: published again at {where}; {service} handles it next")
