"""The figures on real PostgreSQL, seeded through the consumer shell and insights' handlers:
each definition, the areas, the 28-day window edges, CSV = JSON, and no personal data."""

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from referral_schemas import CancellationReason, ContactResult, Outcome

from tests.integration.test_insights_harness import Insights, insights, insights_keys
from tests.support.insights_events import (
    ADDRESS_LINE,
    FAMILY_NAME,
    GIVEN_NAME,
    accepted,
    at,
    cancelled,
    closed,
    completed,
    contact,
    directory,
    intelligence,
    opened,
    routed,
    visit,
)
from tests.support.insights_story import STORY_FIGURES, STORY_LINES, programme_story

pytestmark = pytest.mark.integration
__all__ = ["insights", "insights_keys"]

AREAS = {"barrow": ["LA13", "LA14"], "kendal": ["LA8", "LA9"]}


async def test_a_story_of_two_months_gives_each_figure_as_defined(insights: Insights) -> None:
    await insights.feed([directory(1, AREAS), *programme_story("barrow", "LA14")])
    rows = await insights.figures("2024-01", "2024-03")
    for month, expected in STORY_FIGURES.items():
        row = rows[("barrow", month)]
        assert {name: row[name] for name in expected} == expected, month
        assert row["area_name"] == "Area barrow"
    march = rows[("barrow", "2024-03")]
    assert (march["referrals_opened"], march["active_county_lines"]) == (0, 0)
    # Every area of the directory has a row for every month, with zeros.
    assert sorted(rows) == [
        (area, month)
        for area in ("barrow", "kendal")
        for month in ("2024-01", "2024-02", "2024-03")
    ]
    assert rows[("kendal", "2024-01")]["referrals_opened"] == 0
    assert rows[("kendal", "2024-01")]["median_hours_to_first_contact"] is None


async def test_one_area_can_be_asked_for(insights: Insights) -> None:
    await insights.feed([directory(1, AREAS), *programme_story("kendal", "LA9")])
    rows = await insights.figures("2024-01", "2024-02", area="kendal")
    assert list(rows) == [("kendal", "2024-01"), ("kendal", "2024-02")]
    assert rows[("kendal", "2024-01")]["referrals_opened"] == 3


async def test_the_median_of_an_odd_count_is_the_middle_value(insights: Insights) -> None:
    await insights.feed([directory(1, AREAS)])
    for hours in (100, 1, 5):
        rid = uuid.uuid4()
        start = at("2024-05-10 06:00")
        await insights.feed(
            [
                opened(rid, start),
                routed(rid, "barrow", start),
                accepted(rid, start),
                contact(rid, start + timedelta(hours=hours), ContactResult.SPOKE_TO_PERSON),
            ]
        )
    row = (await insights.figures("2024-05", "2024-05"))[("barrow", "2024-05")]
    assert (row["referrals_contacted"], row["median_hours_to_first_contact"]) == (3, 5.0)


@pytest.mark.parametrize(("as_of", "lines"), sorted(STORY_LINES.items()))
async def test_active_county_lines_as_of_a_date_at_the_window_edges(
    insights: Insights, as_of: str, lines: int
) -> None:
    await insights.feed([directory(1, AREAS), *programme_story("barrow", "LA14")])
    page = await insights.get("/county-lines", as_of=as_of)
    counts = {item["area"]: item["active_county_lines"] for item in page["areas"]}
    assert counts == {"barrow": lines, "kendal": 0}
    assert page["as_of"] == as_of


async def test_csv_holds_the_same_figures_as_json_with_a_header(insights: Insights) -> None:
    await insights.feed([directory(1, AREAS), *programme_story("barrow", "LA14")])
    params = {"from": "2024-01", "to": "2024-02"}
    as_json = (await insights.get("/figures", **params))["rows"]
    response = await insights.client.get(
        "/figures.csv", params=params, headers=insights.headers("auditor")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    as_csv = list(csv.DictReader(io.StringIO(response.text)))
    assert len(as_csv) == len(as_json) == 4

    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    for row, line in zip(as_json, as_csv, strict=True):
        assert (line["area"], line["month"]) == (row["area"], row["month"])
        for name in ("referrals_opened", "visits_completed", "median_hours_to_first_contact"):
            assert line[name] == cell(row[name])
        for name in ("engagement_rate", "active_county_lines", "referrals_cancelled"):
            assert line[name] == cell(row[name])
        assert {code: int(line[f"outcome_{code}"]) for code in row["outcomes"]} == row["outcomes"]


async def test_areas_follow_routing_else_the_directory_in_force(insights: Insights) -> None:
    routed_elsewhere, unrouted, nowhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    when = at("2024-06-03 10:00")
    await insights.feed(
        [
            opened(routed_elsewhere, when, "LA14"),
            routed(routed_elsewhere, "kendal", when),  # routing's area wins over the district's
            opened(unrouted, when, "LA9"),
            opened(nowhere, when, "QZ9"),
            intelligence("LA9", "DANNY", when),
            directory(2, AREAS),
            directory(1, {"barrow": ["LA9"]}),  # an older version arriving late changes nothing
        ]
    )
    rows = await insights.figures("2024-06", "2024-06")
    assert rows[("kendal", "2024-06")]["referrals_opened"] == 2
    assert rows[("kendal", "2024-06")]["active_county_lines"] == 1
    assert rows[(None, "2024-06")]["referrals_opened"] == 1  # no area covers QZ9
    await insights.feed([directory(3, {"barrow": ["LA9", "LA14"]})])
    rows = await insights.figures("2024-06", "2024-06")
    assert rows[("barrow", "2024-06")]["active_county_lines"] == 1  # LA9 moved to barrow
    assert rows[("kendal", "2024-06")]["referrals_opened"] == 1  # routed there: stays


async def test_a_referral_resurrected_by_a_late_routing_counts_once_as_cancelled(
    insights: Insights,
) -> None:
    # Defect 1: Opened > Routed > Cancelled(moved_away) > Routed(late) > Accepted > worked >
    # Closed. The late routing and everything after it had no effect.
    rid = uuid.uuid4()
    start = at("2024-07-01 09:00")
    later = start + timedelta(days=1)
    await insights.feed(
        [
            directory(1, AREAS),
            opened(rid, start, "LA14"),
            routed(rid, "barrow", start),
            cancelled(rid, start + timedelta(hours=1), CancellationReason.MOVED_AWAY),
            routed(rid, "kendal", later),
            accepted(rid, later),
            contact(rid, later, ContactResult.SPOKE_TO_PERSON),
            visit(rid, later),
            completed(rid, later, Outcome.ENGAGED_WITH_SUPPORT),
            closed(rid, later, Outcome.ENGAGED_WITH_SUPPORT),
        ]
    )
    rows = await insights.figures("2024-07", "2024-07")
    barrow, kendal = rows[("barrow", "2024-07")], rows[("kendal", "2024-07")]
    assert (barrow["referrals_opened"], barrow["referrals_cancelled"]) == (1, 1)
    assert sum(barrow["outcomes"].values()) == 0
    assert (barrow["visits_completed"], barrow["referrals_contacted"]) == (0, 0)
    assert (kendal["referrals_opened"], sum(kendal["outcomes"].values())) == (0, 0)


async def test_outcomes_count_in_the_month_the_referral_closed(insights: Insights) -> None:
    rid = uuid.uuid4()
    start = at("2024-08-30 09:00")
    await insights.feed(
        [
            directory(1, AREAS),
            opened(rid, start, "LA9"),
            routed(rid, "kendal", start),
            accepted(rid, start),
            completed(rid, start + timedelta(days=1), Outcome.SIGNPOSTED),
            closed(rid, start + timedelta(days=3), Outcome.SIGNPOSTED),
        ]
    )
    rows = await insights.figures("2024-08", "2024-09")
    august, september = rows[("kendal", "2024-08")], rows[("kendal", "2024-09")]
    assert (august["outcomes"]["signposted"], september["outcomes"]["signposted"]) == (0, 1)


async def test_the_same_events_in_another_order_across_topics_give_the_same_figures(
    insights: Insights,
) -> None:
    story = [directory(1, AREAS), *programme_story("barrow", "LA14")]
    await insights.feed(story)
    first = await insights.get("/figures", **{"from": "2024-01", "to": "2024-03"})
    tables = "directory_in_force, areas, area_districts, agency_areas, referral_facts, visits"
    tables += ", intelligence_facts"
    await insights.pool.execute(f"TRUNCATE inbox, {tables}")
    # A replay may read the topics in another interleaving: directory last, intelligence first.
    by_topic = sorted(
        story, key=lambda m: {"police.intelligence": 0, "hub.directory": 2}.get(m.topic, 1)
    )
    await insights.feed(by_topic)
    assert await insights.get("/figures", **{"from": "2024-01", "to": "2024-03"}) == first


async def test_nothing_personal_is_kept_or_served(insights: Insights) -> None:
    story = [directory(1, AREAS), *programme_story("barrow", "LA14")]
    await insights.feed(story)
    served = json.dumps(await insights.get("/figures", **{"from": "2024-01", "to": "2024-02"}))
    served += (await insights.client.get("/figures.csv", headers=insights.headers())).text
    kept = ""
    tables = ("referral_facts", "visits", "intelligence_facts", "areas", "area_districts")
    for table in (*tables, "agency_areas"):
        kept += str([dict(r) for r in await insights.pool.fetch(f"SELECT * FROM {table}")])
    intel_people = [
        json.loads(m.value)["data"]["subject"]["family_name"]
        for m in story
        if m.topic == "police.intelligence" and b"IntelligenceSubmitted" in m.value
    ]
    for personal in (GIVEN_NAME, FAMILY_NAME, ADDRESS_LINE, *intel_people):
        assert personal not in served
        assert personal not in kept
