"""`hub referrals list`: every referral as the lifecycle stands, read from referral.events.

The listing folds the log itself with the shared ``lifecycle.evolve`` (as every service
does), so it shows the status every service agrees on: awaiting_acceptance, accepted,
escalated, closed, cancelled... Only ids, codes, districts, agencies and times are shown:
never names, addresses or dates of birth.
"""

import asyncio
import json
from datetime import UTC
from typing import Annotated, Any

import typer
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from referral_schemas.topics import REFERRAL_EVENTS
from rich.console import Console
from rich.table import Table

from services.hub.connect import operator_kafka, stack_env, trust_store
from services.hub.referral_fold import ReferralSummary, fold_referrals, rightfully_signed
from services.hub.topic_reader import partitions_of, read_to_end
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.provenance import TrustStore

referrals_app = typer.Typer(no_args_is_help=True, help="Look at referrals.")
console = Console()


async def read_referrals(kafka: KafkaAccess, trust: TrustStore) -> dict[str, ReferralSummary]:
    partitions = (await partitions_of(kafka, (REFERRAL_EVENTS,))).get(REFERRAL_EVENTS, [])
    wanted = [TopicPartition(REFERRAL_EVENTS, p) for p in partitions]
    records = await read_to_end(kafka, wanted)
    return fold_referrals(r.value for r in records if rightfully_signed(trust, r))


def _status(summary: ReferralSummary) -> str:
    state = summary.lifecycle
    return f"{state.status} (held)" if state.held else str(state.status)


def as_json(summary: ReferralSummary) -> dict[str, Any]:
    """One referral for `--json`: the same fields as the table, and a few more codes."""
    state = summary.lifecycle
    return {
        "referral_id": str(state.referral_id),
        "opened_at": state.opened_at.isoformat(),
        "force": state.force,
        "postcode_district": state.district,
        "risk_level": summary.risk_level,
        "reason_categories": list(summary.reason_categories),
        "status": str(state.status),
        "held": state.held,
        "agency": state.agency,
        "tried": list(state.tried),
        "outcome": state.outcome.value if state.outcome else None,
        "cancel_reason": state.cancel_reason.value if state.cancel_reason else None,
        "ended_at": state.ended_at.isoformat() if state.ended_at else None,
        "intelligence_refs": [ref for _, ref in state.intelligence],
        "previous_referral_id": (
            str(state.previous_referral_id) if state.previous_referral_id else None
        ),
    }


@referrals_app.command("list")
def list_referrals(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many, newest first.")] = 50,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON array instead of a table.")
    ] = False,
) -> None:
    """Every referral, newest first, with the status all services agree on (folded from
    referral.events). No names or addresses."""
    kafka = operator_kafka()
    try:
        referrals = asyncio.run(read_referrals(kafka, trust_store(stack_env())))
    except (KafkaError, TimeoutError) as err:
        Console(stderr=True).print(f"cannot read Kafka at {kafka.bootstrap} ({type(err).__name__})")
        raise typer.Exit(1) from err
    newest = sorted(
        referrals.values(),
        key=lambda s: (s.lifecycle.opened_at, str(s.lifecycle.referral_id)),
        reverse=True,
    )[:limit]
    if json_output:
        typer.echo(json.dumps([as_json(s) for s in newest], indent=2))
        return
    if not newest:
        console.print("No referrals yet. Send intelligence (e.g. `hub demo`) and look again.")
        return
    table = Table(
        "referral", "opened (UTC)", "force", "district", "risk", "reasons", "status", "agency",
        "intel",
    )  # fmt: skip
    for summary in newest:
        state = summary.lifecycle
        table.add_row(
            str(state.referral_id),
            f"{state.opened_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            state.force,
            state.district,
            summary.risk_level,
            ", ".join(summary.reason_categories),
            _status(summary),
            state.agency or "",
            ", ".join(ref for _, ref in state.intelligence),
        )
    console.print(table)
    console.print(f"{len(newest)} of {len(referrals)} referral(s)")
