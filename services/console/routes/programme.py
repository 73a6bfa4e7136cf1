"""The programme page: figures per area and month from insights, as SVG charts, a table
and a CSV download. The console draws them; insights computes them."""

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.casework import Refused
from services.console.charts import month_label, programme_charts
from services.console.session import SessionUser
from services.console.web import CurrentUser, Deps, PageRefused, render, service_token

router = APIRouter()
READERS = frozenset({"programme_manager", "police_coordinator", "auditor"})
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def reader(user: CurrentUser) -> SessionUser:
    if user.role not in READERS:
        raise PageRefused(
            403,
            "Not available to your role",
            "Programme figures are for programme managers, police coordinators and auditors.",
        )
    return user


Reader = Annotated[SessionUser, Depends(reader)]


def _period(request: Request, areas: list[str]) -> tuple[str | None, str | None, str | None]:
    params = request.query_params
    start, end, area = params.get("from", ""), params.get("to", ""), params.get("area", "")
    return (
        start if _MONTH.match(start) else None,
        end if _MONTH.match(end) else None,
        area if area in areas else None,
    )


@router.get("/programme")
async def programme(request: Request, user: Reader, deps: Deps) -> Response:
    start, end, area = _period(request, deps.settings.areas)
    error, status = None, 200
    try:
        rows = await deps.insights.figures(service_token(deps, user), start, end, area)
    except Refused as exc:  # a bad month (422), or an area not the reader's (403)
        rows, error, status = [], exc.detail, exc.status
    query = urlencode({k: v for k, v in {"from": start, "to": end, "area": area}.items() if v})
    context = {
        "title": "Programme figures",
        "rows": rows,
        "charts": programme_charts(rows, one_area=area is not None) if rows else [],
        "start": start or "",
        "end": end or "",
        "area": area or "",
        "areas": deps.settings.areas,
        "csv_url": f"/programme/figures.csv{'?' + query if query else ''}",
        "month_label": month_label,
        "error": error,
        "withheld": any(row.withheld for row in rows),
    }
    return render(request, "programme.html", context, status)


@router.get("/programme/figures.csv")
async def figures_csv(request: Request, user: Reader, deps: Deps) -> Response:
    start, end, area = _period(request, deps.settings.areas)
    try:
        content = await deps.insights.csv(service_token(deps, user), start, end, area)
    except Refused as exc:
        raise PageRefused(exc.status, "The figures could not be downloaded", exc.detail) from None
    name = "-".join(part for part in ("programme-figures", start, end, area) if part)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
