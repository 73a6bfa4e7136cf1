"""`hub deadletters list`: what the services refused, and why (never the payload)."""

import asyncio

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.hub.connect import stack_env
from services.hub.services_commands import SERVICES
from services.runtime.dead_letter import list_dead_letters

deadletters_app = typer.Typer(no_args_is_help=True, help="Messages the services refused.")
console = Console()


async def _fetch(env: dict[str, str], limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = []
    for service in SERVICES:
        dsn = env.get(f"{service.upper()}_DATABASE_URL")
        if dsn is None or service == "console":
            continue  # the console consumes no topic, so it refuses nothing
        conn = await asyncpg.connect(dsn)
        try:
            rows.extend(await list_dead_letters(conn, limit))
        finally:
            await conn.close()
    return sorted(rows, key=lambda r: r["dead_lettered_at"], reverse=True)[:limit]


@deadletters_app.command("list")
def list_command(limit: int = typer.Option(50, min=1, max=10_000)) -> None:
    """Newest first; the messages themselves are on the hub.dead-letter topic."""
    rows = asyncio.run(_fetch(stack_env(), limit))
    table = Table("when (UTC)", "consumer", "reason", "detail", "from")
    for r in rows:
        origin = f"{r['source_topic']}[{r['source_partition']}]@{r['source_offset']}"
        table.add_row(
            f"{r['dead_lettered_at']:%Y-%m-%d %H:%M:%S}",
            r["consumer"],
            r["reason"],
            r["detail"],
            origin,
        )
    console.print(table)
    console.print(f"{len(rows)} dead letter(s)")
