"""`hub audit ...`: verify the ledger (or an export file), sign a checkpoint now, show a
referral's timeline from the ledger, export for a review, replay the topics.

The ledger is read with the audit service's own role (AUDIT_DATABASE_URL in the env file
`hub infra up` writes); the checkpoint key is AUDIT_CHECKPOINT_KEY_FILE (or the stack's
``secrets/audit-checkpoint-key.pem``). Nothing here prints personal data: the ledger holds
none in clear.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from referral_schemas.access_v1 import ConsultationPurpose
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from infra.settings import InfraSettings
from services.audit import export as exports
from services.audit.checkpoints import make_checkpoint
from services.audit.signing import KEY_FILE_NAME, load_public_key, load_signing_key
from services.audit.store import referral_entries
from services.audit.verification import Verification, verify_database
from services.audit_tools.file_check import verify_file
from services.audit_tools.report import extract_export, render_html
from services.hub.connect import operator_kafka, stack_env, trust_store
from services.hub.consultation import record_consultation
from services.replay.folds import Scope
from services.replay.run import ReplayReport, run_replay
from services.replay.scratch import project_admin_dsn
from services.runtime.clock import SystemClock
from services.runtime.db import Connection, connect
from services.runtime.kafka_clients import KafkaAccess

audit_app = typer.Typer(no_args_is_help=True, help="The audit ledger: verify, replay, export.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
T = TypeVar("T")

DsnOption = Annotated[
    str | None, typer.Option("--dsn", help="Ledger DSN (default: AUDIT_DATABASE_URL).")
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="AUDIT_CHECKPOINT_KEY_FILE",
        help="Checkpoint key (PEM); default: the stack's.",
    ),
]


def _env(name: str) -> str:
    value = stack_env().get(name)
    if not value:
        raise typer.BadParameter(f"{name} is not in the stack's env file")
    return value


def _key_file(given: Path | None) -> Path:
    path = given or Path(stack_env().get("AUDIT_CHECKPOINT_KEY_FILE") or "")
    if not path.name:
        path = InfraSettings().root / "secrets" / KEY_FILE_NAME
    if not path.is_file():
        raise typer.BadParameter(f"no checkpoint key at {path} (set AUDIT_CHECKPOINT_KEY_FILE)")
    return path


def _with_ledger(dsn: str | None, work: Callable[[Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await connect(dsn or _env("AUDIT_DATABASE_URL"))
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _fail(message: str) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(1)


def _show_verification(result: Verification) -> None:
    out.print(f"entries verified: {result.entries}; referrals: {result.referrals}")
    out.print(f"checkpoints verified: {result.checkpoints_verified} of {result.checkpoints}")
    out.print(f"chain head: {result.head}; trusted key: {result.key_id}")
    if result.producers:
        counts = ", ".join(f"{who} {count}" for who, count in result.producers)
        out.print(f"signed by (verified when ledgered, covered by the chain): {counts}")
    for finding in result.findings:
        where = f"entry {finding.position}" if finding.position is not None else "checkpoints"
        out.print(Text(f"BROKEN at {where} [{finding.reason}]: {finding.detail}", style="red"))
    if result.ok:
        out.print(Text("the ledger verifies", style="green"))


@audit_app.command()
def verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an export file (offline).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Trusted public key (PEM) to pin signatures to.")
    ] = None,
    dsn: DsnOption = None,
    key_file: KeyOption = None,
) -> None:
    """Recompute every chain and check every signed checkpoint; name the first bad entry."""
    if file is not None:
        data = file.read_bytes()
        data = extract_export(data) or data
        trusted = load_public_key(public_key) if public_key else None
        checked = verify_file(data, trusted)
        out.print(f"{file}: {checked.entries} entries, signed by key {checked.key_id}")
        for problem in checked.problems:
            out.print(Text(f"BROKEN: {problem}", style="red"))
        if not checked.ok:
            raise typer.Exit(1)
        out.print(Text("the export verifies", style="green"))
        return
    public = load_public_key(public_key or _key_file(key_file))
    result = _with_ledger(dsn, lambda conn: verify_database(conn, public))
    _show_verification(result)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command()
def checkpoint(dsn: DsnOption = None, key_file: KeyOption = None) -> None:
    """Sign the chain head now (the service also does it periodically)."""
    key = load_signing_key(_key_file(key_file))
    signed = _with_ledger(
        dsn, lambda conn: make_checkpoint(conn, key, SystemClock(), on_demand=True)
    )
    if signed is None:
        out.print("the latest checkpoint already covers the head")
    else:
        out.print(f"checkpoint {signed.sequence}: {signed.count} entries, head {signed.head}")


def _referral(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise _fail("not a referral id: expected a UUID") from None


@audit_app.command()
def timeline(
    referral_id: Annotated[str, typer.Argument(help="The referral's id (a UUID).")],
    dsn: DsnOption = None,
) -> None:
    """A referral's history from the ledger: every event, who acted, who consulted it,
    who it was disclosed to, and the intelligence it came from."""
    rid = _referral(referral_id)
    entries = _with_ledger(dsn, lambda conn: referral_entries(conn, rid))
    if not entries:
        raise _fail(f"the ledger holds nothing about referral {rid}")
    kafka = operator_kafka()
    asyncio.run(record_consultation(kafka, rid, ConsultationPurpose.AUDIT, "hub audit timeline"))
    table = Table("#", "time (UTC)", "s.62", "event", "actor", "agency", "to / why", "record")
    for e in entries:
        c = e.content
        at = f"{c.event_time.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if c.event_time else "?"
        why = ", ".join([*c.recipients, *([c.purpose] if c.purpose else [])])
        cells = [str(e.position), at, c.category or "", c.type or "(unreadable)", c.actor or ""]
        cells += [c.agency or "", why, f"{c.topic}@{c.offset}"]
        table.add_row(*(Text(cell) for cell in cells))
    out.print(table)
    out.print(f"{len(entries)} ledger entries")


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


FromOption = Annotated[str | None, typer.Option("--from", help="Start (ISO 8601, UTC if naive).")]
ToOption = Annotated[str | None, typer.Option("--to", help="End, exclusive (ISO 8601).")]
ReferralOption = Annotated[str | None, typer.Option("--referral", help="One referral's id.")]


@audit_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .jsonl file to write.")],
    referral: ReferralOption = None,
    start: FromOption = None,
    end: ToOption = None,
    dsn: DsnOption = None,
    key_file: KeyOption = None,
) -> None:
    """Write a signed JSON Lines export and an HTML report next to it (same name, .html)."""
    if (referral is None) == (start is None and end is None):
        raise _fail("give either --referral ID, or --from and/or --to")
    key = load_signing_key(_key_file(key_file))
    rid = _referral(referral) if referral else None

    async def gather(conn: Connection) -> exports.Export:
        return await exports.gather(conn, referral=rid, start=_when(start), end=_when(end))

    found = _with_ledger(dsn, gather)
    data = exports.render(found, key, datetime.now(UTC))
    output.write_bytes(data)
    report = output.with_suffix(".html")
    report.write_text(render_html(data, found), encoding="utf-8")
    out.print(f"{len(found.entries)} entries -> {output} and {report}")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} records/s")


def _show_replay(report: ReplayReport) -> None:
    cw, ledger = report.casework, report.ledger
    fate = "kept (drop it with DROP SCHEMA ... CASCADE)" if report.kept else "dropped"
    out.print(f"rebuilt into scratch schema {report.scratch_schema} ({fate})")
    out.print(
        f"records read: {report.records_read}; referral events folded: {report.casework_events}"
    )
    breaches = sum(report.sla_breaches.values())
    out.print(f"SlaBreached events in the log: {breaches} (replay fires no timers)")
    out.print(
        f"casework: {cw.compared} referrals; rebuilt {cw.rebuilt_digest}, live {cw.live_digest}"
    )
    out.print(
        f"ledger: {ledger.entries_compared} entries compared; chain recomputed from the topics "
        f"matches through entry {ledger.matched_through}"
    )
    out.print(f"ledger digests: rebuilt {ledger.rebuilt_digest}, live {ledger.live_digest}")
    if ledger.expired:
        out.print(
            f"ledger: {ledger.expired} entries whose records have passed their topic's retention "
            "(police.intelligence), or that ledgered hub.dead-letter before the ledger stopped "
            "reading it, are taken as the ledger holds them; `hub audit verify` checks their "
            "chain"
        )
    for line in [*cw.differences, *ledger.differences]:
        out.print(Text(f"DIFFERENT: {line}", style="red"))
    if report.same:
        out.print(Text("replay reproduces the live state", style="green"))


@audit_app.command()
def replay(
    referral: ReferralOption = None,
    start: FromOption = None,
    end: ToOption = None,
    dsn: DsnOption = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the scratch schema (default: drop it).")
    ] = False,
) -> None:
    """Rebuild casework's referral state and the ledger from the topics (offset 0) into an
    empty scratch schema and compare them with the live ones (SQL-side digests)."""
    scope = Scope(_referral(referral) if referral else None, _when(start), _when(end))
    env = stack_env()
    columns: list[Any] = [TextColumn("reading topics"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, _Rate(), console=err) as progress:
        task = progress.add_task("replay", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = asyncio.run(
            run_replay(
                KafkaAccess.from_env(env),
                dsn or _env("AUDIT_DATABASE_URL"),
                _env("CASEWORK_DATABASE_URL"),
                scope,
                advance,
                admin_dsn=project_admin_dsn(_env("HUB_ADMIN_DATABASE_URL")),
                trust=trust_store(env),
                keep=keep,
            )
        )
    _show_replay(report)
    if not report.same:
        raise typer.Exit(1)
