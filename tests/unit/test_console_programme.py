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


WITHHELD_ROWS: list[dict[str, Any]] = [
    {
        **ROWS[0],
        "area": area,
        "month": "2025-06",
        "area_name": name,
        "referrals_opened": opened,
        "visits_completed": None,
        "median_hours_to_first_contact": None,
        "engaged": None,
        "engagement_rate": None,
        "outcomes": {"engaged_with_support": None, "signposted": 0},
        "withheld": {
            "visits_completed": "fewer_than_5",
            "median_hours_to_first_contact": "from_fewer_than_5",
            "engaged": "reveals_small_count",
            "engagement_rate": "reveals_small_count",
            "outcomes.engaged_with_support": "fewer_than_5",
        }
        | ({} if opened is not None else {"referrals_opened": "fewer_than_5"}),
    }
    for area, name, opened in (("barrow", "Barrow-in-Furness", 12), ("kendal", "Kendal", None))
]


class FakeInsights:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.params.get("from") == "2025-13":
            return httpx.Response(422, json={"error": "invalid", "detail": "bad month"})
        if request.url.params.get("area") == "carlisle":
            refusal = {"error": "area_out_of_scope", "detail": "that area is not one of your areas"}
            return httpx.Response(403, json=refusal)
        if request.url.path == "/figures.csv":
            return httpx.Response(200, text="area,month\r\nbarrow,2025-04\r\n")
        rows = WITHHELD_ROWS if request.url.params.get("from") == "2025-06" else ROWS
        body = {"from": "2025-04", "to": "2025-05", "area": None, "rows": rows}
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


async def test_withheld_figures_show_as_labels_never_as_numbers(
    programme: tuple[Console, FakeInsights],
) -> None:
    console, _ = programme
    page = await console.client.get("/programme?from=2025-06&to=2025-06")
    assert page.status_code == 200
    text = page.text
    assert '<td class="num" data-label="Referrals"><span class="withheld">fewer than 5' in text
    assert '<td class="num" data-label="Visits completed"><span class="withheld">fewer than 5' in (
        text
    )
    assert 'data-label="Engagement rate"><span class="withheld">withheld</span>' in text
    assert "Engaged with support: fewer than 5" in text
    assert 'id="withheld-note"' in text
    # The month's referrals over both areas: 12 and fewer than 5, so at least 13.
    assert "Jun 25: at least 13" in text
    # The rate of both areas cannot be made from withheld parts.
    assert "Jun 25: withheld" in text


async def test_one_area_with_its_median_withheld_says_too_few(
    programme: tuple[Console, FakeInsights],
) -> None:
    console, _ = programme
    page = await console.client.get("/programme?from=2025-06&to=2025-06&area=barrow")
    assert "Jun 25: too few to show" in page.text


async def test_an_area_that_is_not_the_readers_is_refused_with_insights_reason(
    programme: tuple[Console, FakeInsights],
) -> None:
    console, _ = programme
    page = await console.client.get("/programme?area=carlisle")
    assert page.status_code == 403
    assert "that area is not one of your areas" in page.text
    download = await console.client.get("/programme/figures.csv?area=carlisle")
    assert download.status_code == 403
