"""Query parameters shared by the routes: a period's bounds and a page."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
"""Bounds every numeric parameter: a larger page is refused (422), not overflowed (500)."""

From = Annotated[datetime | None, Query(alias="from")]
To = Annotated[datetime | None, Query(alias="to")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def utc(moment: datetime | None) -> datetime | None:
    """Naive times are UTC (as in ``hub audit export --from``)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
