"""Reading the figures. Aggregates only, so no consultation of a referral is recorded.

Each answer holds the reader's areas only (``scope.py``) and, but for auditors, small
counts withheld (``services.insights.suppression``)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from referral_schemas.text import AreaCode

from services.insights import figures as f
from services.insights.api.auth import CurrentReader, Reader
from services.insights.api.scope import Scope, check_area, scope_of
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
from services.insights.suppression import THRESHOLD, ShownRow, exact, suppress
from services.runtime.api_deps import ApiDeps, Deps
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


async def _rows(
    deps: ApiDeps, reader: Reader, start: Month, end: Month, area: str | None
) -> tuple[Scope, list[ShownRow]]:
    async with (
        deps.pool.acquire() as conn,
        # One snapshot for every query, so the figures of one answer agree with each other
        # and with the directory that decided the reader's areas.
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        scope = await scope_of(conn, reader)
        check_area(scope, area)
        rows = await f.figures(conn, start, end, area, scope.areas)
    shown = exact if scope.exact else suppress
    return scope, [shown(row) for row in rows]


@router.get("/figures", response_model=FiguresPage)
async def get_figures(
    reader: CurrentReader,
    deps: Deps,
    first: FromMonth = None,
    last: ToMonth = None,
    area: AreaFilter = None,
) -> FiguresPage:
    """Programme figures per area and calendar month (UTC) of the areas you may see;
    definitions in the schema; small counts withheld unless you are an auditor."""
    start, end = _period(deps, first, last)
    scope, rows = await _rows(deps, reader, start, end, area)
    return FiguresPage(
        from_month=str(start),
        to_month=str(end),
        area=area,
        areas_in_scope=scope.sorted_areas(),
        suppressed_below=None if scope.exact else THRESHOLD,
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
    ``outcome_<code>`` columns; empty cells where a figure is undefined, ``<5`` for a count
    from 1 to 4 and ``[c]`` for another withheld figure."""
    start, end = _period(deps, first, last)
    _, rows = await _rows(deps, reader, start, end, area)
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
    """Active county lines per area you may see: distinct lines named in intelligence
    recorded in the 28 days ending with ``as_of`` (discredited intelligence left out)."""
    day = as_of or deps.clock.now().date()
    if not in_range(day):
        raise ApiError(
            422, "invalid_date", f"as_of must lie between {EARLIEST_YEAR} and {LATEST_YEAR}"
        )
    async with (
        deps.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        scope = await scope_of(conn, reader)
        found = await f.county_lines(conn, day, scope.areas)
    return county_lines_view(found)
