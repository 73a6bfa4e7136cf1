"""The referrals with ledger activity in a period (ids and counts only; records nothing)."""

from typing import Any

from fastapi import APIRouter

from services.audit import usecases
from services.audit.api.auth import Auditor
from services.audit.api.deps import Store
from services.audit.api.params import From, Page, PageSize, To, utc
from services.runtime.api_errors import ApiError

router = APIRouter()


@router.get("/audit/referrals")
async def referrals(
    who: Auditor,
    store: Store,
    start: From = None,
    end: To = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    """Referrals with ledger entries appended in [from, to) (the period an export of the
    same bounds covers), most recently active first, with their counts in the period."""
    start, end = utc(start), utc(end)
    if start is not None and end is not None and end <= start:
        raise ApiError(422, "bad_period", "'to' must be after 'from'")
    return await usecases.referrals(store, usecases.Period(start, end), page, page_size)
