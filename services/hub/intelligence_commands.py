"""`hub intelligence send FILE --force F` and `hub intelligence withdraw REF --force F`:
publish as that force's sending system, for integration testing and support.

Both check what they send against the contract first and print what is wrong with the
file (field and rule, never the value) instead of sending it. What they send is published
by ``force_publisher.publish_as_force``.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from aiokafka.errors import KafkaError
from referral_schemas import Envelope, WithdrawalReason

from services.hub.connect import stack_env
from services.hub.consultation import operator
from services.hub.force_publisher import Published, publish_as_force
from services.hub.intelligence_file import (
    FileProblem,
    Sender,
    checked_force,
    checked_ref,
    read_file,
    submission,
    withdrawal,
)

intelligence_app = typer.Typer(
    no_args_is_help=True, help="Send a force's intelligence (integration testing, support)."
)
ForceOption = Annotated[
    str, typer.Option("--force", help="The sending force's code, e.g. cumbria.", show_default=False)
]


def _refuse(problem: FileProblem) -> NoReturn:
    typer.echo(f"not sent: {problem}", err=True)  # one line, never wrapped: scripts read it
    raise typer.Exit(2)


def _sender(force: str) -> Sender:
    return Sender(checked_force(force), operator(), datetime.now(UTC))


def _publish(force: str, envelope: Envelope[Any]) -> Published:
    stack = stack_env()
    try:
        return asyncio.run(publish_as_force(stack, force, envelope))
    except (KafkaError, TimeoutError) as err:
        where = stack["HUB_KAFKA_BOOTSTRAP"]
        typer.echo(f"not sent: cannot reach Kafka at {where} ({type(err).__name__})", err=True)
        raise typer.Exit(1) from err


def _said(envelope: Envelope[Any], sent: Published) -> str:
    return (
        f"sent {envelope.type} {sent.key} (event {envelope.id}) to {sent.topic} "
        f"[partition {sent.partition}, offset {sent.offset}]"
    )


@intelligence_app.command("send")
def send(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON IntelligenceSubmitted envelope, or only its data.", show_default=False
        ),
    ],
    force: ForceOption,
) -> None:
    """Send intelligence from FILE as FORCE's system: checked against the contract first;
    FILE's force must be FORCE. Sending the same file again changes nothing."""
    try:
        sender = _sender(force)
        envelope = submission(str(file), read_file(file), sender)
    except FileProblem as problem:
        _refuse(problem)
    typer.echo(_said(envelope, _publish(sender.force, envelope)))
    typer.echo("Follow it with `hub referrals list` (a few seconds later).")


@intelligence_app.command("withdraw")
def withdraw(
    ref: Annotated[str, typer.Argument(help="The force's intelligence reference.")],
    force: ForceOption,
    reason: Annotated[
        WithdrawalReason,
        typer.Option("--reason", help="Why the force withdraws it.", show_default=False),
    ],
) -> None:
    """Withdraw FORCE's intelligence REF: intake asks casework to cancel the referral it
    opened (or remembers the withdrawal if the intelligence has not arrived yet)."""
    try:
        sender = _sender(force)
        envelope = withdrawal(checked_ref(ref), reason, sender)
    except FileProblem as problem:
        _refuse(problem)
    typer.echo(_said(envelope, _publish(sender.force, envelope)))
