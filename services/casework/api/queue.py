"""Reading: the caller's queue, and one referral's detail (each read recorded)."""

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from referral_schemas.text import AreaCode

from services.casework import usecases
from services.casework.api.auth import CurrentActor
from services.casework.domain import Status
from services.casework.personal import DetailsOpener
from services.casework.store import PgCaseworkStore
from services.casework.views import QueuePage, ReferralDetail
from services.runtime.api_deps import Deps

router = APIRouter(tags=["queue"])
MAX_LIMIT = 200
MAX_OFFSET = 100_000
"""Deeper than any agency's queue: a larger number is refused (422), not sent to the
database (where a 64-bit overflow would be a 500)."""


@router.get("/referrals", response_model=QueuePage)
async def list_queue(
    actor: CurrentActor,
    deps: Deps,
    status: Annotated[Status | None, Query(description="Only referrals in this status.")] = None,
    area: Annotated[AreaCode | None, Query(description="Only referrals in this area.")] = None,
    overdue: Annotated[bool | None, Query(description="Only (not) overdue referrals.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Referrals to skip.")] = 0,
) -> QueuePage:
    """The agency's referrals, highest risk first, then the earliest acceptance deadline.

    Police coordinators see the referrals their force raised, across agencies.
    """
    filters = usecases.QueueFilters(status, area, overdue, limit, offset)
    async with deps.pool.acquire() as conn:
        return await usecases.queue(PgCaseworkStore(conn), actor, filters, deps.clock)


@router.get("/referrals/{referral_id}", response_model=ReferralDetail)
async def referral_detail(
    referral_id: uuid.UUID, actor: CurrentActor, deps: Deps, request: Request
) -> ReferralDetail:
    """The minimised referral and its timeline. Every read is recorded as a
    ReferralConsulted event (DPA 2018 s.62). Unknown or another agency's: 404."""
    opener: DetailsOpener = request.app.state.opener
    async with deps.pool.acquire() as conn, conn.transaction():
        store, details = PgCaseworkStore(conn), partial(opener.open, conn)
        return await usecases.consult(store, referral_id, actor, deps.clock, uuid.uuid4(), details)
