"""Who may read the figures (deny by default), what a bad request gets, and how insights'
consumers treat redelivered, unreadable and wrongly keyed messages."""

import pytest

from services.runtime.consumer import Outcome
from tests.integration.test_insights_harness import Insights, insights, insights_keys
from tests.support.insights_events import (
    Message,
    at,
    directory,
    intelligence,
)
from tests.support.insights_story import programme_story

pytestmark = pytest.mark.integration
__all__ = ["insights", "insights_keys"]

PATHS = ["/figures", "/figures.csv", "/county-lines"]


@pytest.mark.parametrize("path", PATHS)
async def test_without_a_valid_token_nothing_is_served(insights: Insights, path: str) -> None:
    missing = await insights.client.get(path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = await insights.client.get(path, headers={"Authorization": "Bearer not.a.token"})
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")


@pytest.mark.parametrize("role", ["hub_admin", "programme", "AUDITOR", "police"])
async def test_other_roles_are_refused(insights: Insights, role: str) -> None:
    for path in PATHS:
        response = await insights.client.get(
            path, headers=insights.headers(role, agency="twc-barrow", force="cumbria")
        )
        assert (response.status_code, response.json()["error"]) == (403, "forbidden_role")


@pytest.mark.parametrize(
    ("role", "claims"),
    [
        ("programme_manager", {"force": "cumbria"}),
        ("police_coordinator", {"force": "cumbria"}),
        ("support_worker", {"agency": "twc-barrow"}),
        ("agency_lead", {"agency": "twc-barrow"}),
        ("auditor", {}),
    ],
)
async def test_each_reading_role_with_its_claim_may_read(
    insights: Insights, role: str, claims: dict[str, str]
) -> None:
    for path in PATHS:
        response = await insights.client.get(path, headers=insights.headers(role, **claims))
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize(
    ("role", "claims"),
    [
        ("programme_manager", {"agency": "twc-barrow"}),
        ("police_coordinator", {}),
        ("support_worker", {"force": "cumbria"}),
        ("agency_lead", {}),
    ],
)
async def test_a_token_without_the_claim_its_role_needs_is_refused(
    insights: Insights, role: str, claims: dict[str, str]
) -> None:
    for path in PATHS:
        response = await insights.client.get(path, headers=insights.headers(role, **claims))
        assert (response.status_code, response.json()["error"]) == (403, "no_scope"), path


async def test_default_period_is_the_twelve_months_to_now(insights: Insights) -> None:
    await insights.feed([directory(1, {"barrow": ["LA14"]})])
    page = await insights.get("/figures")
    assert (page["from"], page["to"]) == ("2023-04", "2024-03")  # the test clock: March 2024
    assert len(page["rows"]) == 12
    assert (await insights.get("/county-lines"))["as_of"] == "2024-03-10"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "2024-03", "to": "2024-01"}, "invalid_period"),
        ({"from": "2010-01", "to": "2024-01"}, "invalid_period"),
        ({"from": "2024-13"}, "invalid_request"),
        ({"to": "0001-01"}, "invalid_period"),
        ({"to": "March"}, "invalid_request"),
        ({"area": "Not An Area!"}, "invalid_request"),
    ],
)
async def test_bad_parameters_are_refused_with_a_reason(
    insights: Insights, params: dict[str, str], error: str
) -> None:
    for path in ("/figures", "/figures.csv"):
        response = await insights.client.get(path, params=params, headers=insights.headers())
        assert (response.status_code, response.json()["error"]) == (422, error)
        for value in params.values():
            assert value not in response.json()["detail"]


@pytest.mark.parametrize("as_of", ["2024-02-30", "0001-01-01", "9999-12-31"])
async def test_a_bad_as_of_date_is_refused(insights: Insights, as_of: str) -> None:
    response = await insights.client.get(
        "/county-lines", params={"as_of": as_of}, headers=insights.headers()
    )
    assert response.status_code == 422


async def test_a_redelivered_event_counts_once(insights: Insights) -> None:
    story = [directory(1, {"barrow": ["LA14"]}), *programme_story("barrow", "LA14")]
    await insights.feed(story)
    before = await insights.figures("2024-01", "2024-02")
    outcomes = {await insights.deliver(message) for message in story}
    assert outcomes == {Outcome.DUPLICATE}
    assert await insights.figures("2024-01", "2024-02") == before


async def test_unreadable_intelligence_is_dead_lettered_under_insights_name(
    insights: Insights,
) -> None:
    await insights.feed([directory(1, {"barrow": ["LA14"]})])
    garbage = Message("police.intelligence", "cumbria:X", b'{"type": "IntelligenceSubmitted"')
    assert await insights.deliver(garbage) is Outcome.DEAD_LETTERED
    row = await insights.pool.fetchrow("SELECT consumer, reason FROM dead_letters")
    assert row is not None
    assert row["consumer"] == "insights/police.intelligence"
    assert await insights.pool.fetchval("SELECT topic FROM outbox") == "hub.dead-letter"
    # The consumer goes on: the next good message counts.
    await insights.feed([intelligence("LA14", "DANNY", at("2024-03-20 10:00"))])
    assert (await insights.figures("2024-03", "2024-03"))[("barrow", "2024-03")][
        "active_county_lines"
    ] == 1


async def test_intelligence_keyed_wrongly_is_not_counted(insights: Insights) -> None:
    """intake refuses it (and dead-letters it); insights must not count it either."""
    await insights.feed([directory(1, {"barrow": ["LA14"]})])
    good = intelligence("LA14", "DANNY", at("2024-03-20 10:00"))
    assert await insights.deliver(Message(good.topic, "cumbria:OTHER", good.value)) is (
        Outcome.HANDLED
    )
    rows = await insights.figures("2024-03", "2024-03")
    assert rows[("barrow", "2024-03")]["active_county_lines"] == 0
    assert await insights.pool.fetchval("SELECT count(*) FROM dead_letters") == 0
