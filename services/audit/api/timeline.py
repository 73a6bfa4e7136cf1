"""A referral's timeline from the ledger (the read is recorded as a consultation)."""

import uuid
from typing import Any

from fastapi import APIRouter

from services.audit import usecases
from services.audit.api.auth import Auditor
from services.audit.api.deps import Ledger, Store
from services.runtime.api_deps import Deps

router = APIRouter()


@router.get("/audit/referrals/{referral_id}/timeline")
async def timeline(
    referral_id: uuid.UUID, who: Auditor, deps: Deps, ledger: Ledger, store: Store
) -> dict[str, Any]:
    """Every ledger entry about the referral (events, actors, consultations), in ledger
    order, each referral event with its effect (``applied``, ``no effect: <code>`` or
    ``unknown``; see services/audit/effects.py). The read is recorded as a consultation."""
    entries = await usecases.timeline(store, who, referral_id, deps.clock, ledger.records)
    return {"referral_id": str(referral_id), "entries": entries}
