"""What an operator types to answer a dead letter: its id and a note, checked."""

import re

import typer

from services.hub.deadletter_groups import RefusedMessage
from services.hub.deadletter_store import REFUSING, message_of

_ID = re.compile(r"^(?P<service>[a-z]+)-(?P<row>[0-9]{1,18})$")


def parse_id(ident: str) -> tuple[str, int]:
    match = _ID.fullmatch(ident.strip())
    if match is None or match["service"] not in REFUSING:
        raise typer.BadParameter(
            f"{ident!r} is not a dead letter id: expected <service>-<number> as "
            "`hub deadletters list` shows it, e.g. casework-12"
        )
    return match["service"], int(match["row"])


def checked_note(note: str) -> str:
    if not note.strip() or len(note) > 500:
        raise typer.BadParameter("--note must say why, in at most 500 characters")
    return note.strip()


async def find_message(env: dict[str, str], ident: str) -> RefusedMessage:
    service, row_id = parse_id(ident)
    message = await message_of(env, service, row_id)
    if message is None:
        raise typer.BadParameter(f"{service} has no dead letter {row_id}")
    return message
