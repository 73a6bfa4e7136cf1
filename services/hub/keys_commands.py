"""`hub keys`: the event-signing keys of the stack's producers and the trust store that names
them (docs/security.md, "Event provenance").

    hub keys list [--json]
    hub keys rotate PRODUCER [--revoke-old]
    hub keys revoke KID
    hub keys register PRODUCER PUBLIC_KEY_PEM_FILE

Private keys stay in ``<state_dir>/keys/events/`` and are never printed; the trust store
(``<state_dir>/trust/producers.json``) holds the public halves. Nothing needs a restart:
signers re-read their key file on the next record, consumers re-read the trust store within a
second.
"""

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography.exceptions import UnsupportedAlgorithm
from referral_schemas.producers import FORCE_PREFIX, OPERATOR, SERVICES, is_producer_name
from rich.console import Console
from rich.table import Table

from infra import event_keys
from infra.event_keys import KeyEntry
from infra.settings import InfraSettings
from services.runtime.provenance import parse_trust_store

keys_app = typer.Typer(
    no_args_is_help=True,
    help="Event-signing keys: who may sign the hub's records (list, rotate, revoke, register).",
    pretty_exceptions_show_locals=False,
)
REFUSED = 2
PICKED_UP = (
    "Services pick it up without a restart: signers re-read their key file on the next "
    "record, consumers re-read the trust store within a second."
)
_STATUS_STYLE = {"active": "green", "retired": "yellow", "revoked": "red"}


def _out() -> Console:
    """A console on the current stdout (so test runners that swap stdout capture it)."""
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _refuse(message: str) -> typer.Exit:
    _err().print(message)
    return typer.Exit(REFUSED)


def _root() -> Path:
    return InfraSettings().root


def _keys(root: Path) -> list[KeyEntry]:
    """The trust store's keys; a clear refusal when there is none or it is unreadable."""
    path = event_keys.trust_store_path(root)
    if not path.is_file():
        raise _refuse(f"no trust store at {path}: run `hub infra up` first")
    try:
        parse_trust_store(path.read_text())
        return event_keys.list_keys(root)
    except (OSError, ValueError, KeyError) as err:
        raise _refuse(f"cannot read the trust store {path}: {err}") from err


def _producer(name: str) -> str:
    if not is_producer_name(name):
        services = ", ".join(SERVICES)
        raise typer.BadParameter(
            f"{name!r} is not a producer: one of {services}, {OPERATOR} or "
            f"{FORCE_PREFIX}<code> (lower-case letters, digits, -)"
        )
    return name


def _when(stamp: str) -> str:
    """``2026-12-01T11:02:54+00:00`` -> ``2026-12-01 11:02:54``."""
    return stamp.replace("T", " ").removesuffix("+00:00")


@keys_app.command("list")
def list_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array instead of a table.")
    ] = False,
) -> None:
    """Every key the hub knows: its id, producer and status (no private material)."""
    keys = _keys(_root())
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(k) for k in keys], indent=2))
        return
    table = Table()
    table.add_column("kid", no_wrap=True)  # shown whole, to copy into `hub keys revoke`
    for column in ("producer", "status", "created (UTC)", "changed (UTC)"):
        table.add_column(column, overflow="fold")
    for k in sorted(keys, key=lambda k: (k.producer, k.created_at, k.kid)):
        style = _STATUS_STYLE.get(k.status, "")
        table.add_row(
            k.kid,
            k.producer,
            f"[{style}]{k.status}[/{style}]",
            _when(k.created_at),
            _when(k.changed_at),
        )
    out = _out()
    out.print(table)
    counts = {s: sum(1 for k in keys if k.status == s) for s in _STATUS_STYLE}
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()))


@keys_app.command("rotate")
def rotate_command(
    producer: Annotated[
        str, typer.Argument(help="A service, operator or force:<code>.", show_default=False)
    ],
    revoke_old: Annotated[
        bool,
        typer.Option(
            "--revoke-old",
            help="Also revoke the replaced key (it was leaked): what it signed is refused "
            "from now on. Default: it retires, and what it signed still verifies.",
        ),
    ] = False,
) -> None:
    """Give PRODUCER a new signing key; the old one retires (or is revoked)."""
    root = _root()
    name = _producer(producer)
    keys = _keys(root)
    if not any(k.producer == name for k in keys):
        raise _refuse(
            f"the trust store has no key of {name}: `hub infra up` makes the keys of the "
            "services, the operator and the forces of HUB_KAFKA_FORCES; `hub keys register` "
            "trusts a key a force's own system made"
        )
    old = [k.kid for k in keys if k.producer == name and k.status == "active"]
    try:
        kid = event_keys.rotate(root, name, revoke_old=revoke_old)
    except (OSError, ValueError) as err:
        raise _refuse(f"could not rotate the key of {name}: {err}") from err
    out = _out()
    out.print(f"new key of {name}: {kid}")
    out.print(f"private key: {event_keys.key_file(root, name)}")
    for previous in old:
        out.print(f"{previous}: {'revoked' if revoke_old else 'retired (still verifies)'}")
    out.print(PICKED_UP)


@keys_app.command("revoke")
def revoke_command(
    kid: Annotated[str, typer.Argument(help="The key id (see `hub keys list`).")],
) -> None:
    """Refuse from now on whatever KID signed. The active key of a producer whose private
    key is here is rotated first, so that producer keeps publishing."""
    root = _root()
    keys = _keys(root)
    entry = next((k for k in keys if k.kid == kid), None)
    if entry is None:
        raise _refuse(f"no key {kid!r} in the trust store (`hub keys list` shows them)")
    out = _out()
    if entry.status == "revoked":
        out.print(f"{kid} of {entry.producer} was already revoked ({entry.changed_at})")
        return
    replaced_by: str | None = None
    local_key = event_keys.key_file(root, entry.producer)
    if entry.status == "active" and local_key.is_file():
        try:
            replaced_by = event_keys.rotate(root, entry.producer)
        except (OSError, ValueError) as err:
            raise _refuse(f"could not rotate the key of {entry.producer}: {err}") from err
        out.print(f"rotated {entry.producer} first: its new key is {replaced_by}")
    try:
        event_keys.revoke(root, kid)
    except ValueError as err:
        raise _refuse(str(err)) from err
    out.print(f"revoked {kid} of {entry.producer}: what it signed is refused from now on")
    if replaced_by is not None:
        out.print(PICKED_UP)
    elif entry.status == "active":
        out.print(
            f"{entry.producer} has no active key now (its private key is not here): its "
            "records are refused until `hub keys register` trusts a new public key of it"
        )


@keys_app.command("register")
def register_command(
    producer: Annotated[
        str, typer.Argument(help="force:<code> (or a service, operator).", show_default=False)
    ],
    public_key_pem_file: Annotated[
        Path,
        typer.Argument(
            help="The Ed25519 public key (PEM) the producer made; its private key stays with it.",
            show_default=False,
        ),
    ],
) -> None:
    """Trust a public key a producer made itself (a force's sending system keeps its own
    private key); its earlier active key retires."""
    root = _root()
    name = _producer(producer)
    try:
        pem = public_key_pem_file.read_bytes()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise typer.BadParameter(
            f"cannot read {public_key_pem_file}: {reason}", param_hint="PUBLIC_KEY_PEM_FILE"
        ) from err
    if b"PRIVATE KEY" in pem:
        raise typer.BadParameter(
            f"{public_key_pem_file} holds a private key: give the public half only "
            "(a private key never leaves its producer)",
            param_hint="PUBLIC_KEY_PEM_FILE",
        )
    _keys(root)
    try:
        kid = event_keys.register(root, name, pem)
    except (ValueError, TypeError) as err:
        message = str(err)
        if "Ed25519" not in message:
            message = f"{public_key_pem_file} is not a PEM public key ({type(err).__name__})"
        raise typer.BadParameter(message, param_hint="PUBLIC_KEY_PEM_FILE") from err
    except UnsupportedAlgorithm as err:
        raise typer.BadParameter(
            f"{public_key_pem_file} does not hold an Ed25519 public key: {err}",
            param_hint="PUBLIC_KEY_PEM_FILE",
        ) from err
    out = _out()
    out.print(f"trusted {kid} as the active key of {name}")
    out.print(
        "Its earlier active key (if any) retires. Consumers re-read the trust store within "
        "a second: records this key signs are accepted without a restart."
    )


__all__ = ["keys_app"]
