"""The figures API under the same guard as the staff and auditors' APIs (its app in-process
on a real read model): nothing cacheable, bounded bodies, no docs unless switched on
(INSIGHTS_API_DOCS)."""

import pytest

from tests.integration.test_insights_harness import Insights, insights, insights_keys

pytestmark = pytest.mark.security
__all__ = ["insights", "insights_keys"]


async def test_no_answer_is_cacheable_refusals_included(insights: Insights) -> None:
    figures = await insights.client.get(
        "/figures", params={"from": "2024-01", "to": "2024-02"}, headers=insights.headers()
    )
    refused = await insights.client.get("/figures")
    assert (figures.status_code, refused.status_code) == (200, 401)
    for response in (figures, refused):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


async def test_a_huge_body_is_refused_before_it_is_read(insights: Insights) -> None:
    response = await insights.client.request(
        "GET", "/figures", content=b"x" * (2 * 1024 * 1024), headers=insights.headers()
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


async def test_no_docs_unless_switched_on(insights: Insights) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await insights.client.get(path)).status_code == 404, path
