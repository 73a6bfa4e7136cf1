"""What the audit routes need beyond the runtime's ``ApiDeps`` (pool, verifier, clock): the
ledger's keys and record source (``app.state.ledger``), and the store the use cases run on."""

from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request

from services.audit.auditor_store import AuditorStore, PgAuditorStore
from services.audit.record_reader import RecordSource
from services.audit.signing import SigningKey
from services.runtime.api_deps import Deps


@dataclass(frozen=True)
class LedgerDeps:
    checkpoint_public_key: Ed25519PublicKey
    signing_key: SigningKey | None = None
    """The checkpoint key, which also seals exports (none: no export download)."""
    records: RecordSource | None = None
    """Reads a referral's records back from Kafka, to mark the events that had no effect
    (none: timelines carry no effects)."""


def get_ledger(request: Request) -> LedgerDeps:
    ledger: LedgerDeps = request.app.state.ledger
    return ledger


def auditor_store(deps: Deps) -> AuditorStore:
    """The ledger and the outbox on the service's pool, for one request."""
    return PgAuditorStore(deps.pool)


Ledger = Annotated[LedgerDeps, Depends(get_ledger)]
Store = Annotated[AuditorStore, Depends(auditor_store)]
