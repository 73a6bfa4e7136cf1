"""``hub token``: mint an identity token for local use, signed with the stack's own key.

The key pair lives in ``<state_dir>/secrets/`` and is made on first use; casework trusts
its public key when no other identity provider is configured.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from infra.settings import InfraSettings
from services.runtime.auth import DEFAULT_MAX_LIFETIME, ensure_signing_keys, mint_token

MAX_HOURS = DEFAULT_MAX_LIFETIME.total_seconds() / 3600


def token(
    user: Annotated[str, typer.Option(help="User id (the token's subject).")],
    role: Annotated[
        str,
        typer.Option(
            help="support_worker, agency_lead, police_coordinator, auditor or programme_manager."
        ),
    ],
    agency: Annotated[str | None, typer.Option(help="Agency code, e.g. twc-barrow.")] = None,
    force: Annotated[str | None, typer.Option(help="Force code (police), e.g. cumbria.")] = None,
    hours: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=MAX_HOURS,
            help="Lifetime; the services refuse tokens valid longer than 12 h by default.",
        ),
    ] = 8.0,
) -> None:
    """Print a signed token: use it as 'Authorization: Bearer <token>'."""
    private_path, _ = ensure_signing_keys(InfraSettings().root)
    signed = mint_token(
        private_path.read_text(encoding="utf-8"),
        user=user,
        role=role,
        agency=agency,
        force=force,
        now=datetime.now(UTC),
        lifetime=timedelta(hours=hours),
    )
    typer.echo(signed)
