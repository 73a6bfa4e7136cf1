"""The programme page against a fake of insights' figures API: charts, table, CSV."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.unit.test_console_harness import (
    CONSOLE_URL,
    Console,
    FakeCasework,
    build_app,
    console_keys,
    fake_casework,
)

pytestmark = pytest.mark.unit
__all__ = ["console_keys", "fake_casework"]

ROWS: list[dict[str, Any]] = [
    {
        "area": "barrow",
        "area_name": "Barrow-in-Furness",
        "month": month,
        "referrals_opened": opened,
        "visits_completed": visits,
        "referrals_contacted": visits,
        "median_hours_to_first_contact": 20.5,
        "engagement_known": 4,
        "engaged": 3,
        "engagement_rate": 0.75,
        "outcomes": {"engaged_with_support": 3, "signposted": 0},
        "referrals_cancelled": 0,
        "active_county_lines": 2,
    }
    for month, opened, visits in (("2025-04", 12, 9), ("2025-05", 15, 11))
]


class FakeInsights:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.params.get("from") == "2025-13":
            return httpx.Response(422, json={"error": "invalid", "detail": "bad month"})
        if request.url.path == "/figures.csv":
            return httpx.Response(200, text="area,month\r\nbarrow,2025-04\r\n")
        body = {"from": "2025-04", "to": "2025-05", "area": None, "rows": ROWS}
        return httpx.Response(200, json=body)


@pytest.fixture
async def programme(
    console_keys: tuple[str, str], fake_casework: FakeCasework
) -> AsyncIterator[tuple[Console, FakeInsights]]:
    insights = FakeInsights()
    casework_http = httpx.AsyncClient(
        transport=httpx.MockTransport(fake_casework.handle), base_url="http://casework"
    )
    insights_http = httpx.AsyncClient(
        transport=httpx.MockTransport(insights.handle), base_url="http://insights"
    )
    app = build_app(console_keys, casework_http, insights=insights_http)
    async with (
        casework_http,
        insights_http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_URL) as client,
    ):
        console = Console(client, fake_casework, app)
        await console.sign_in("programme")
        yield console, insights


async def test_the_programme_page_draws_charts_and_a_table(
    programme: tuple[Console, FakeInsights],
) -> None:
    console, insights = programme
    page = await console.client.get("/programme?from=2025-04&to=2025-05&area=barrow")
    assert page.status_code == 200
    assert dict(insights.requests[-1].url.params) == {
        "from": "2025-04",
        "to": "2025-05",
        "area": "barrow",
    }
    assert insights.requests[-1].headers["Authorization"].startswith("Bearer ")
    assert page.text.count('<svg class="chart"') == 5, "four charts, and the median for one area"
    assert "Apr 25: 12; May 25: 15" in page.text
    assert '<td class="num" data-label="Engagement rate">75%</td>' in page.text
    assert 'href="/programme/figures.csv?from=2025-04&amp;to=2025-05&amp;area=barrow"' in page.text


async def test_the_csv_download_is_insights_csv(programme: tuple[Console, FakeInsights]) -> None:
    console, _ = programme
    response = await console.client.get("/programme/figures.csv?from=2025-04")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="programme-figures-2025-04.csv"' in response.headers["content-disposition"]
    assert response.text.startswith("area,month")


async def test_bad_months_never_reach_insights(programme: tuple[Console, FakeInsights]) -> None:
    console, insights = programme
    await console.client.get("/programme?from=2025-13&to=june&area=nowhere")
    assert dict(insights.requests[-1].url.params) == {}
