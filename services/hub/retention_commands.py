"""`hub retention status`: what the stack keeps about people, for how long, and what goes
next (docs/privacy.md, "How long"). Read from the log every service folds, not from any
service's tables: referrals and their ends from referral.events, erasures from the
PersonalDataErased records intake signed."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from aiokafka import TopicPartition
from referral_schemas import EventRejected, PersonalDataErased, parse_event
from referral_schemas.topics import REFERRAL_EVENTS
from rich.console import Console
from rich.table import Table

from infra.settings import InfraSettings
from services.hub.connect import operator_kafka, stack_env, trust_store
from services.hub.referral_fold import ReferralSummary, fold_referrals, rightfully_signed
from services.hub.topic_reader import LogRecord, partitions_of, read_to_end
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.provenance import TrustStore

retention_app = typer.Typer(no_args_is_help=True, help="How long personal data is kept.")
console = Console()
DEFAULT_DAYS = 730.0


async def _log(kafka: KafkaAccess, trust: TrustStore) -> list[LogRecord]:
    partitions = (await partitions_of(kafka, (REFERRAL_EVENTS,))).get(REFERRAL_EVENTS, [])
    wanted = [TopicPartition(REFERRAL_EVENTS, p) for p in partitions]
    return [r for r in await read_to_end(kafka, wanted) if rightfully_signed(trust, r)]


def _erased(records: list[LogRecord]) -> set[str]:
    erased: set[str] = set()
    for record in records:
        try:
            data = parse_event(record.value).data
        except EventRejected:
            continue
        if isinstance(data, PersonalDataErased):
            erased.add(str(data.referral_id))
    return erased


def _due(summary: ReferralSummary, days: float) -> datetime | None:
    ended = summary.lifecycle.ended_at
    return ended + timedelta(days=days) if ended is not None else None


@retention_app.command("status")
def status(
    limit: Annotated[int, typer.Option(min=0, max=10_000, help="Next erasures to list.")] = 20,
) -> None:
    """Each data class's period, and the ended referrals whose details go next."""
    env = stack_env()
    settings = InfraSettings()
    days = float(env.get("INTAKE_RETENTION_ENDED_REFERRAL_DAYS") or DEFAULT_DAYS)
    records = asyncio.run(_log(operator_kafka(env), trust_store(env)))
    referrals = fold_referrals(r.value for r in records)
    erased = _erased(records)
    ended = {rid: s for rid, s in referrals.items() if s.lifecycle.ended}
    waiting = sorted(
        ((rid, s) for rid, s in ended.items() if rid not in erased),
        key=lambda item: item[1].lifecycle.ended_at or datetime.min.replace(tzinfo=UTC),
    )
    open_count = len(referrals) - len(ended)
    classes = Table("data", "kept", "now")
    classes.add_row(
        "ended referrals: the person's details",
        f"{days:g} days after the referral ended, then erased by intake",
        f"{len(ended)} ended, {len(ended) - len(waiting)} erased, {len(waiting)} to go",
    )
    classes.add_row(
        "open referrals: the person's details",
        "while the referral is open (never erased by time; `hub erase --even-if-open`)",
        f"{open_count} open",
    )
    classes.add_row(
        "police.intelligence (the force's raw record)",
        f"{settings.retention_intelligence_days} days (Kafka retention)",
        "",
    )
    classes.add_row(
        "hub.dead-letter (refused records)",
        f"{settings.retention_dead_letter_days} days, or until `hub deadletters purge`",
        "",
    )
    console.print(classes)
    if not waiting or limit == 0:
        return
    now = datetime.now(UTC)
    upcoming = Table("referral", "ended (UTC)", "erased on or after (UTC)", "")
    for rid, summary in waiting[:limit]:
        due = _due(summary, days)
        ended_at = summary.lifecycle.ended_at
        upcoming.add_row(
            rid,
            f"{ended_at:%Y-%m-%d %H:%M}" if ended_at else "",
            f"{due:%Y-%m-%d %H:%M}" if due else "",
            "due now" if due is not None and due <= now else "",
        )
    console.print(upcoming)
