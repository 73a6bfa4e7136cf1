"""The agency's queue, and for leads the team's workload and overdue items."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.casework import QueueItem, QueuePage, Refused
from services.console.session import SessionUser
from services.console.web import ConsoleDeps, Deps, PageRefused, StaffUser, render, service_token

router = APIRouter()
PAGE_SIZE = 25
STATUSES = (
    "opened",
    "awaiting_acceptance",
    "accepted",
    "completed",
    "closed",
    "rerouting",
    "escalated",
    "cancelled",
)
_OVERDUE = {"yes": True, "no": False}
_WORKLOAD_PAGES = 5  # leads' workload counts at most 5 x 200 accepted referrals


@dataclass(frozen=True)
class Filters:
    status: str
    area: str
    overdue: str
    page: int

    @classmethod
    def read(cls, params: Any, statuses: tuple[str, ...], areas: list[str]) -> "Filters":
        """Only known values; anything else reads as 'any' (a hand-edited URL is harmless)."""
        status = params.get("status", "")
        area = params.get("area", "")
        overdue = params.get("overdue", "")
        page = params.get("page", "1")
        return cls(
            status if status in statuses else "",
            area if area in areas else "",
            overdue if overdue in _OVERDUE else "",
            int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def query(self, page: int) -> str:
        parts = [f"{name}={value}" for name, value in self._set().items()]
        return "&".join([*parts, f"page={page}"])

    def _set(self) -> dict[str, str]:
        values = {"status": self.status, "area": self.area, "overdue": self.overdue}
        return {name: value for name, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self._set())


async def fetch_page(
    deps: ConsoleDeps, user: SessionUser, filters: Filters, size: int = PAGE_SIZE
) -> QueuePage:
    try:
        return await deps.casework.queue(
            service_token(deps, user),
            status=filters.status or None,
            area=filters.area or None,
            overdue=_OVERDUE.get(filters.overdue),
            limit=size,
            offset=(filters.page - 1) * size,
        )
    except Refused as exc:
        raise PageRefused(exc.status, "The queue could not be shown", exc.detail) from None


def paging(page: QueuePage, filters: Filters, base: str) -> dict[str, Any]:
    last = max(1, -(-page.total // page.limit))
    return {
        "first": page.offset + 1 if page.items else 0,
        "last_shown": page.offset + len(page.items),
        "total": page.total,
        "page": filters.page,
        "pages": last,
        "previous": f"{base}?{filters.query(filters.page - 1)}" if filters.page > 1 else None,
        "next": f"{base}?{filters.query(filters.page + 1)}" if filters.page < last else None,
    }


@router.get("/queue")
async def queue(request: Request, user: StaffUser, deps: Deps) -> Response:
    filters = Filters.read(request.query_params, STATUSES, deps.settings.areas)
    page = await fetch_page(deps, user, filters)
    context = {
        "title": "Referral queue",
        "page": page,
        "filters": filters,
        "paging": paging(page, filters, "/queue"),
        "statuses": STATUSES,
        "areas": deps.settings.areas,
    }
    return render(request, "queue.html", context)


async def _accepted(deps: ConsoleDeps, user: SessionUser) -> tuple[list[QueueItem], int]:
    items: list[QueueItem] = []
    total = 0
    for number in range(1, _WORKLOAD_PAGES + 1):
        page = await fetch_page(deps, user, Filters("accepted", "", "", number), size=200)
        items.extend(page.items)
        total = page.total
        if len(items) >= total:
            break
    return items, total


@router.get("/team")
async def team(request: Request, user: StaffUser, deps: Deps) -> Response:
    if not user.is_lead:
        raise PageRefused(403, "Not available to your role", "This page is for agency leads.")
    accepted, accepted_total = await _accepted(deps, user)
    load = Counter(item.assigned_to or "" for item in accepted)
    held = Counter(item.assigned_to or "" for item in accepted if item.held)
    workload = [
        {"worker": worker, "count": count, "held": held[worker]}
        for worker, count in sorted(load.items(), key=lambda pair: (pair[0] == "", -pair[1]))
    ]
    overdue = await fetch_page(deps, user, Filters("", "", "yes", 1), size=50)
    waiting = await fetch_page(deps, user, Filters("awaiting_acceptance", "", "", 1), size=1)
    context = {
        "title": "Team workload",
        "workload": workload,
        "accepted_total": accepted_total,
        "counted": len(accepted),
        "overdue": overdue,
        "waiting_total": waiting.total,
    }
    return render(request, "team.html", context)
