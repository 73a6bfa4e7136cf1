"""insights' programme figures API as the console uses it: ``GET /figures?from&to&area``
(JSON rows) and ``GET /figures.csv`` (the same rows as CSV), with the user's token.

The console never computes figures itself: insights folds the events into them.
"""

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from services.console.casework import NotSignedIn, Refused, UpstreamError

WITHHELD_LABELS = {
    "fewer_than_5": "fewer than 5",
    "from_fewer_than_5": "too few to show",
    "reveals_small_count": "withheld",
}
"""What the page says for a figure insights withheld, by insights' reason."""


class FigureRow(BaseModel):
    """Figures of one area in one month. A figure insights withheld (small numbers) is None
    and named in ``withheld`` with the reason; the page shows a label, never a number."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    area: str | None
    area_name: str | None = None
    month: str
    referrals_opened: int | None = 0
    visits_completed: int | None = 0
    median_hours_to_first_contact: float | None = None
    engagement_known: int | None = 0
    engaged: int | None = 0
    engagement_rate: float | None = None
    outcomes: dict[str, int | None] = {}
    active_county_lines: int | None = None
    withheld: dict[str, str] = {}

    def withheld_label(self, name: str) -> str | None:
        """The label shown instead of the figure ``name``, if insights withheld it."""
        reason = self.withheld.get(name)
        return None if reason is None else WITHHELD_LABELS.get(reason, "withheld")

    def outcome_cells(self) -> list[tuple[str, str]]:
        """(code, what to show) of every outcome recorded or withheld, by code."""
        cells = []
        for code, count in sorted(self.outcomes.items()):
            label = self.withheld_label(f"outcomes.{code}")
            if label is not None:
                cells.append((code, label))
            elif count:
                cells.append((code, str(count)))
        return cells


def _params(start: str | None, end: str | None, area: str | None) -> dict[str, str]:
    """Months as YYYY-MM; insights defaults to the last 12 months."""
    params = {"from": start or "", "to": end or "", "area": area or ""}
    return {name: value for name, value in params.items() if value}


class InsightsClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def figures(
        self, token: str, start: str | None, end: str | None, area: str | None
    ) -> list[FigureRow]:
        response = await self._get("/figures", token, _params(start, end, area))
        try:
            body: Any = response.json()
        except ValueError:
            raise UpstreamError("the insights service gave an unreadable answer") from None
        rows = body.get("rows", []) if isinstance(body, dict) else body
        if not isinstance(rows, list):
            raise UpstreamError("the insights service gave an unreadable answer")
        return [FigureRow.model_validate(row) for row in rows]

    async def csv(self, token: str, start: str | None, end: str | None, area: str | None) -> bytes:
        response = await self._get("/figures.csv", token, _params(start, end, area))
        return response.content

    async def _get(self, path: str, token: str, params: dict[str, str]) -> httpx.Response:
        try:
            response = await self._http.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError:
            raise UpstreamError("the insights service could not be reached") from None
        if response.status_code == 401:
            raise NotSignedIn()
        if response.status_code == 403:
            raise Refused(403, "forbidden", _detail(response))
        if response.status_code == 422:
            raise Refused(422, "invalid_request", _detail(response))
        if response.status_code != 200:
            raise UpstreamError(f"the insights service failed ({response.status_code})")
        return response


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "the request was refused"
    return str(body.get("detail", "the request was refused")) if isinstance(body, dict) else ""
