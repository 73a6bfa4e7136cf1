"""`hub referrals ...`: what the services hold about referrals (no personal data shown)."""

import asyncio

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.hub.connect import stack_env
from services.intake import store as intake_store

referrals_app = typer.Typer(no_args_is_help=True, help="Look at referrals.")
console = Console()


async def _fetch_referrals(dsn: str, limit: int) -> list[dict[str, object]]:
    conn = await asyncpg.connect(dsn)
    try:
        return await intake_store.list_referrals(conn, limit)
    finally:
        await conn.close()


@referrals_app.command("list")
def list_referrals(
    limit: int = typer.Option(50, min=1, max=10_000, help="How many, newest first."),
) -> None:
    """The referrals intake has opened, newest first."""
    rows = asyncio.run(_fetch_referrals(stack_env()["INTAKE_DATABASE_URL"], limit))
    if not rows:
        console.print("No referrals yet. Send intelligence (e.g. `hub demo`) and look again.")
        return
    table = Table(
        "referral", "opened (UTC)", "force", "district", "risk", "reasons", "status", "intel"
    )
    for row in rows:
        table.add_row(
            str(row["referral_id"]),
            f"{row['opened_at']:%Y-%m-%d %H:%M:%S}",
            str(row["force"]),
            str(row["postcode_district"]),
            str(row["risk_level"]),
            ", ".join(row["reason_categories"]),  # type: ignore[arg-type]
            str(row["status"]),
            ", ".join(row["intelligence_refs"]),  # type: ignore[arg-type]
        )
    console.print(table)
    console.print(f"{len(rows)} referral(s)")
