"""`hub deadletters list`: what the services refused, and why (never the payload), one line
per refused message naming every service that refused it.
`hub deadletters replay ID`: let the consumers that refused a record handle it again, once
what made them refuse is fixed, and record who asked and why.
`hub deadletters purge ID` (services/hub/deadletters_purge.py): remove a refused record's
copy from hub.dead-letter, and record who asked and why."""

import asyncio

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from services.hub.connect import operator_kafka, stack_env
from services.hub.deadletter_groups import purge_state
from services.hub.deadletter_ids import checked_note, find_message, parse_id
from services.hub.deadletter_store import operator_name, recent_messages, service_db
from services.hub.deadletters_purge import purge_command
from services.runtime.dead_letter import DeadLetter, release_for_replay
from services.runtime.kafka_clients import MAX_REQUEST_BYTES, KafkaAccess, make_producer

deadletters_app = typer.Typer(no_args_is_help=True, help="Messages the services refused.")
deadletters_app.command("purge")(purge_command)
console = Console()


@deadletters_app.command("list")
def list_command(limit: int = typer.Option(50, min=1, max=10_000)) -> None:
    """Newest first, one line per refused message (its copy is on hub.dead-letter, which
    only the operator may read)."""
    messages = asyncio.run(recent_messages(stack_env(), limit))
    table = Table(
        "id", "when (UTC)", "refused by", "reason", "detail", "from", "re-driven", "purged"
    )
    for message in messages:
        topic, partition, offset = message.origin
        again = message.re_driven
        replayed = (
            f"{again.row['replayed_at']:%Y-%m-%d %H:%M} by {again.row['replayed_by']}"
            if again
            else ""
        )
        table.add_row(
            message.ident,
            f"{message.dead_lettered_at:%Y-%m-%d %H:%M:%S}",
            ", ".join(message.services),
            ", ".join(message.reasons),
            " | ".join(message.details),
            f"{topic}[{partition}]@{offset}",
            replayed,
            purge_state(message),
        )
    console.print(table)
    console.print(f"{len(messages)} refused message(s)")


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


async def _replay(env: dict[str, str], ident: str, note: str) -> tuple[str, tuple[str, ...]]:
    message = await find_message(env, ident)
    purge = message.purge
    if purge is not None:
        raise LookupError(
            f"it was purged on {purge.row['purged_at']:%Y-%m-%d %H:%M} by "
            f"{purge.row['purged_by']}: a purged message is never handled again"
        )
    again = [r for r in message.refusals if r.replayable]
    if not again:
        raise typer.BadParameter(
            f"refused as {', '.join(message.reasons)}: its producer is not trusted, so "
            "handling it again would refuse it again; the record stays refused"
        )
    kafka = operator_kafka(env)
    key, value, headers = await _original(kafka, message.first.row)
    for refusal in again:
        async with service_db(env, refusal.service) as conn:
            await release_for_replay(conn, refusal.row, by=operator_name(), note=note)
    producer = make_producer(kafka, "hub-deadletters")
    await producer.start()
    try:
        # The same bytes under the producer's own signature: every consumer that handled it
        # drops the copy by its event id; those that refused it now handle it.
        meta = await producer.send_and_wait(message.origin[0], value, key=key, headers=headers)
    finally:
        await producer.stop()
    where = f"{message.origin[0]}[{meta.partition}]@{meta.offset}"
    return where, tuple(dict.fromkeys(r.service for r in again))


@deadletters_app.command("replay")
def replay_command(
    ident: str = typer.Argument(..., metavar="ID", help="As `hub deadletters list` shows it."),
    note: str = typer.Option(
        ..., "--note", min=1, help="Why it can be handled now (recorded with your name)."
    ),
) -> None:
    """Re-drive one refused message: the consumers that refused it handle it again (after
    the cause is fixed, e.g. a directory now loaded); others ignore the copy. Recorded on
    each of its dead letters. A purged message cannot be re-driven."""
    parse_id(ident)
    why = checked_note(note)
    try:
        where, services = asyncio.run(_replay(stack_env(), ident, why))
    except LookupError as err:
        Console(stderr=True).print(f"cannot re-drive {ident}: {err}")
        raise typer.Exit(1) from err
    console.print(
        f"re-driven {ident}: published again at {where}; {', '.join(services)} handle(s) it next"
    )
