"""The ledger verified now: every chain recomputed, every checkpoint checked."""

from typing import Any

from fastapi import APIRouter

from services.audit import usecases
from services.audit.api.auth import Auditor
from services.audit.api.deps import Ledger, Store

router = APIRouter()


@router.get("/audit/verification")
async def verification(who: Auditor, ledger: Ledger, store: Store) -> dict[str, Any]:
    """Every chain recomputed and every checkpoint checked, now."""
    return await usecases.verification(store, ledger.checkpoint_public_key)
