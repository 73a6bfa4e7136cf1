"""The police referral coordinator's pages: every referral their force raised, the
escalations that need them, and the outcomes reported back to the force.

casework answers a coordinator's queue with their force's referrals across agencies.
"""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.routes.queue import STATUSES, Filters, fetch_page, paging
from services.console.web import Deps, PoliceUser, render

router = APIRouter()


@dataclass(frozen=True)
class View:
    path: str
    title: str
    intro: str
    status: str | None
    """Fixed status of the view; None lets the user filter."""


VIEWS = (
    View(
        "/police",
        "Referrals raised by your force",
        "Every referral opened from your force's intelligence, with where it stands.",
        None,
    ),
    View(
        "/police/escalations",
        "Escalations needing action",
        "No agency accepted these referrals in time, or none covers the area or has capacity. "
        "Open one to direct it to an agency, close it with an outcome, or cancel it.",
        "escalated",
    ),
    View(
        "/police/outcomes",
        "Outcomes reported back",
        "Referrals the agencies have closed, with the outcome reported to your force.",
        "closed",
    ),
)


async def _view(request: Request, user: PoliceUser, deps: Deps, view: View) -> Response:
    chosen = Filters.read(request.query_params, STATUSES, deps.settings.areas)
    if view.status is not None:
        chosen = Filters("", chosen.area, chosen.overdue, chosen.page)
    status = view.status or chosen.status
    page = await fetch_page(deps, user, Filters(status, chosen.area, chosen.overdue, chosen.page))
    filters = chosen
    context = {
        "title": view.title,
        "view": view,
        "views": VIEWS,
        "page": page,
        "filters": filters,
        "paging": paging(page, filters, view.path),
        "statuses": STATUSES,
        "areas": deps.settings.areas,
    }
    return render(request, "police.html", context)


@router.get("/police")
async def raised(request: Request, user: PoliceUser, deps: Deps) -> Response:
    return await _view(request, user, deps, VIEWS[0])


@router.get("/police/escalations")
async def escalations(request: Request, user: PoliceUser, deps: Deps) -> Response:
    return await _view(request, user, deps, VIEWS[1])


@router.get("/police/outcomes")
async def outcomes(request: Request, user: PoliceUser, deps: Deps) -> Response:
    return await _view(request, user, deps, VIEWS[2])
