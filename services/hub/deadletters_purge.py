"""`hub deadletters purge ID --note TEXT`: remove a refused record's copy from
hub.dead-letter and record who asked, when and why.

Kafka cannot delete one record from the middle of a log; hub.dead-letter is compacted and
every copy of one refused record has one key (services/runtime/dead_letter.py), so a
tombstone for that key (the key with no value) makes the log cleaner drop them all, within
about an hour (infra/topics.py), and a reader that honours tombstones sees none at once.

The order is what makes it safe to run again after a crash: copies still waiting in a
service's outbox (or parked there) are deleted first, then the tombstone is written, and only
then is each refusal marked purged. A crash before the marks leaves the message unpurged in
`hub deadletters list`: purging it again writes another, harmless, tombstone. A refusal
never says purged while its copy is still readable.
"""

import asyncio

import typer
from referral_schemas.topics import DEAD_LETTER
from rich.console import Console

from services.hub.connect import operator_kafka, stack_env
from services.hub.deadletter_groups import RefusedMessage
from services.hub.deadletter_ids import checked_note, find_message, parse_id
from services.hub.deadletter_store import message_from, operator_name, service_db
from services.runtime.dead_letter import dead_letter_key
from services.runtime.dead_letter_purge import forget_copies, mark_purged
from services.runtime.kafka_clients import KafkaAccess, make_producer


class AlreadyPurged(LookupError):
    """Every refusal of the message is purged already."""


async def write_tombstone(kafka: KafkaAccess, message: RefusedMessage) -> str:
    producer = make_producer(kafka, "hub-deadletters")
    await producer.start()
    try:
        meta = await producer.send_and_wait(DEAD_LETTER, None, key=dead_letter_key(*message.origin))
    finally:
        await producer.stop()
    return f"{DEAD_LETTER}[{meta.partition}]@{meta.offset}"


async def purge(env: dict[str, str], ident: str, note: str) -> tuple[str, RefusedMessage]:
    """Purge the message ``ident`` names; where the tombstone went, and the message after."""
    message = await find_message(env, ident)
    latest = message.purge
    if message.purged and latest is not None:
        raise AlreadyPurged(
            f"already purged on {latest.row['purged_at']:%Y-%m-%d %H:%M} by "
            f"{latest.row['purged_by']} ({latest.row['purge_note']})"
        )
    for service in message.services:
        async with service_db(env, service) as conn:
            await forget_copies(conn, message.origin)
    where = await write_tombstone(operator_kafka(env), message)
    by = operator_name()
    for service in message.services:
        async with service_db(env, service) as conn:
            await mark_purged(conn, message.origin, by=by, note=note)
    after = await message_from(env, message.origin)
    return where, after or message


def purge_command(
    ident: str = typer.Argument(..., metavar="ID", help="As `hub deadletters list` shows it."),
    note: str = typer.Option(
        ..., "--note", min=1, help="Why it must go (recorded with your name)."
    ),
) -> None:
    """Remove a refused message's copy from hub.dead-letter (every refusal of it), for good:
    it can no longer be re-driven. Each of its dead letters records who purged it and why;
    its reason and origin stay listed."""
    parse_id(ident)
    why = checked_note(note)
    try:
        where, message = asyncio.run(purge(stack_env(), ident, why))
    except AlreadyPurged as err:
        Console(stderr=True).print(f"cannot purge {ident}: {err}")
        raise typer.Exit(1) from err
    Console().print(
        f"purged {ident} (refused by {', '.join(message.services)}): tombstone at {where}; "
        "the log cleaner drops its copies within about an hour, and no reader that honours "
        "tombstones sees it now"
    )
