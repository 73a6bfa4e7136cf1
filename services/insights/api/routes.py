"""Reading the figures. Aggregates only, so no consultation of a referral is recorded."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from referral_schemas.text import AreaCode

from services.insights import figures as f
from services.insights.api.auth import ApiDeps, CurrentReader, Deps
from services.insights.api.views import (
    CountyLinesPage,
    FiguresPage,
    county_lines_view,
    figures_csv,
    figures_view,
)
from services.insights.periods import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    MAX_MONTHS,
    Month,
    in_range,
    month_range,
)
from services.runtime.api_errors import ApiError

router = APIRouter(tags=["figures"])

_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
FromMonth = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=_MONTH_PATTERN,
        description="First month, YYYY-MM (UTC); default: 11 months before 'to'.",
    ),
]
ToMonth = Annotated[
    str | None,
    Query(alias="to", pattern=_MONTH_PATTERN, description="Last month, YYYY-MM; default: now."),
]
AreaFilter = Annotated[AreaCode | None, Query(description="Only this area (code).")]


def _period(deps: ApiDeps, first: str | None, last: str | None) -> tuple[Month, Month]:
    try:
        end = Month.parse(last) if last else Month.of(deps.clock.now().date())
        start = Month.parse(first) if first else _months_before(end, 11)
    except ValueError as exc:
        raise ApiError(422, "invalid_period", str(exc)) from None
    if start > end:
        raise ApiError(422, "invalid_period", "'from' must not be after 'to'")
    if len(month_range(start, end)) > MAX_MONTHS:
        raise ApiError(422, "invalid_period", f"at most {MAX_MONTHS} months at once")
    return start, end


def _months_before(month: Month, count: int) -> Month:
    for _ in range(count):
        month = month.previous()
    return month


async def _rows(deps: ApiDeps, start: Month, end: Month, area: str | None) -> list[f.FigureRow]:
    async with (
        deps.pool.acquire() as conn,
        # One snapshot for every query, so the figures of one answer agree with each other.
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        return await f.figures(conn, start, end, area)


@router.get("/figures", response_model=FiguresPage)
async def get_figures(
    reader: CurrentReader,
    deps: Deps,
    first: FromMonth = None,
    last: ToMonth = None,
    area: AreaFilter = None,
) -> FiguresPage:
    """Programme figures per area and calendar month (UTC); definitions in the schema."""
    start, end = _period(deps, first, last)
    rows = await _rows(deps, start, end, area)
    return FiguresPage(
        from_month=str(start),
        to_month=str(end),
        area=area,
        rows=[figures_view(row) for row in rows],
    )


@router.get("/figures.csv", response_class=Response)
async def get_figures_csv(
    reader: CurrentReader,
    deps: Deps,
    first: FromMonth = None,
    last: ToMonth = None,
    area: AreaFilter = None,
) -> Response:
    """The same figures as CSV: a header row, one row per area and month; outcomes as
    ``outcome_<code>`` columns; empty cells where a figure is undefined."""
    start, end = _period(deps, first, last)
    rows = await _rows(deps, start, end, area)
    name = f"referral-hub-figures-{start}-to-{end}{'-' + area if area else ''}.csv"
    return Response(
        figures_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/county-lines", response_model=CountyLinesPage)
async def get_county_lines(
    reader: CurrentReader,
    deps: Deps,
    as_of: Annotated[date | None, Query(description="YYYY-MM-DD (UTC); default: today.")] = None,
) -> CountyLinesPage:
    """Active county lines per area: distinct lines named in intelligence recorded in the
    28 days ending with ``as_of`` (discredited intelligence left out)."""
    day = as_of or deps.clock.now().date()
    if not in_range(day):
        raise ApiError(
            422, "invalid_date", f"as_of must lie between {EARLIEST_YEAR} and {LATEST_YEAR}"
        )
    async with deps.pool.acquire() as conn:
        found = await f.county_lines(conn, day)
    return county_lines_view(found)
