"""insights' figures under attack (finding: "Insights answers a police coordinator of another
force with Cumbria's figures, and shows counts of 1"): the real insights app (in-process
ASGI) on its real read model in PostgreSQL, fed the way production feeds it, through the
consumer shell and insights' handlers.

The directory has two forces: Cumbria (Barrow, Kendal) and Lancashire (Lancaster). In March
2024 Barrow has 7 referrals (6 reached, 2 visits), Kendal 1, Lancaster 6, and 1 referral
lies in a district no area covers."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referral_schemas import ContactResult
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.topics import DIRECTORY, DIRECTORY_KEY

from tests.integration.test_insights_harness import Insights, insights, insights_keys
from tests.support.directory import directory_envelope
from tests.support.insights_events import (
    Message,
    accepted,
    at,
    contact,
    intelligence,
    opened,
    routed,
    visit,
)

pytestmark = pytest.mark.security
__all__ = ["insights", "insights_keys"]

PATHS = ["/figures", "/figures.csv", "/county-lines"]
CUMBRIA_COORDINATOR = {"role": "police_coordinator", "force": "cumbria"}
LANCASHIRE_COORDINATOR = {"role": "police_coordinator", "force": "lancashire"}
MARCH = {"from": "2024-03", "to": "2024-03"}


def two_forces() -> Message:
    data = DirectoryPublished.model_validate(
        {
            "version": 1,
            "published_at": datetime.now(UTC).isoformat(),
            "published_by": "user:directory-admin",
            "areas": [
                _area("barrow", "cumbria", "LA14"),
                _area("kendal", "cumbria", "LA9"),
                _area("lancaster", "lancashire", "LA1"),
            ],
            "agencies": [
                _agency("twc-barrow", ["barrow"]),
                _agency("twc-south", ["kendal"]),
                _agency("lancs-recovery", ["lancaster"]),
            ],
        }
    )
    return Message(DIRECTORY, DIRECTORY_KEY, directory_envelope(data))


def _area(code: str, force: str, district: str) -> dict[str, Any]:
    return {"code": code, "name": code.title(), "force": force, "postcode_districts": [district]}


def _agency(code: str, areas: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "name": code,
        "areas": areas,
        "services": ["vulnerability_visit"],
        "capacity": 10,
        "acceptance_deadline": "PT48H",
    }


def _referrals(area: str | None, district: str, count: int, reached: int) -> list[Message]:
    messages = []
    for n in range(count):
        rid = uuid.uuid4()
        start = at("2024-03-04 09:00") + timedelta(hours=n)
        messages.append(opened(rid, start, district))
        if area is None:
            continue
        messages += [routed(rid, area, start + timedelta(minutes=1))]
        if n < reached:
            messages += [
                accepted(rid, start + timedelta(minutes=2)),
                contact(rid, start + timedelta(hours=5), ContactResult.SPOKE_TO_PERSON),
            ]
            if n < 2:
                messages.append(visit(rid, start + timedelta(hours=6)))
    return messages


@pytest.fixture
async def march(insights: Insights) -> Insights:
    await insights.feed(
        [
            two_forces(),
            *_referrals("barrow", "LA14", count=7, reached=6),
            *_referrals("kendal", "LA9", count=1, reached=1),
            *_referrals("lancaster", "LA1", count=6, reached=0),
            *_referrals(None, "ZZ9", count=1, reached=0),
            intelligence("LA14", "DANNY", at("2024-03-20 10:00")),
            intelligence("LA1", "RED", at("2024-03-20 10:00")),
        ]
    )
    return insights


async def _get(insights: Insights, path: str, reader: dict[str, str], **params: str) -> Any:
    claims = dict(reader)
    response = await insights.client.get(
        path, params=params, headers=insights.headers(claims.pop("role"), **claims)
    )
    return response


async def _page(insights: Insights, reader: dict[str, str], **params: str) -> dict[str, Any]:
    response = await _get(insights, "/figures", reader, **params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_another_forces_coordinator_gets_no_cumbria_figure(march: Insights) -> None:
    page = await _page(march, LANCASHIRE_COORDINATOR, **MARCH)
    assert page["areas_in_scope"] == ["lancaster"]
    assert [row["area"] for row in page["rows"]] == ["lancaster"]
    assert page["rows"][0]["referrals_opened"] == 6
    for area in ("barrow", "kendal"):
        for path in ("/figures", "/figures.csv"):
            asked = await _get(march, path, LANCASHIRE_COORDINATOR, area=area, **MARCH)
            assert (asked.status_code, asked.json()["error"]) == (403, "area_out_of_scope")
    whole_csv = (await _get(march, "/figures.csv", LANCASHIRE_COORDINATOR, **MARCH)).text
    assert "barrow" not in whole_csv.lower()
    assert "kendal" not in whole_csv.lower()
    lines = (await _get(march, "/county-lines", LANCASHIRE_COORDINATOR, as_of="2024-03-31")).json()
    assert [(a["area"], a["active_county_lines"]) for a in lines["areas"]] == [("lancaster", 1)]


async def test_a_force_with_no_area_in_the_directory_gets_an_empty_answer(
    march: Insights,
) -> None:
    reader = {"role": "police_coordinator", "force": "northumbria"}
    page = await _page(march, reader, **MARCH)
    assert (page["areas_in_scope"], page["rows"]) == ([], [])
    lines = (await _get(march, "/county-lines", reader, as_of="2024-03-31")).json()
    assert lines["areas"] == []
    only_header = (await _get(march, "/figures.csv", reader, **MARCH)).text
    assert only_header.count("\r\n") == 1


async def test_agency_staff_see_only_the_areas_their_agency_serves(march: Insights) -> None:
    for role in ("support_worker", "agency_lead"):
        reader = {"role": role, "agency": "twc-barrow"}
        page = await _page(march, reader, **MARCH)
        assert [row["area"] for row in page["rows"]] == ["barrow"]
        other = await _get(march, "/figures", reader, area="lancaster", **MARCH)
        assert (other.status_code, other.json()["error"]) == (403, "area_out_of_scope")
    unknown = await _page(march, {"role": "agency_lead", "agency": "no-such-agency"}, **MARCH)
    assert unknown["rows"] == []


async def test_a_programme_manager_sees_the_areas_of_their_force(march: Insights) -> None:
    page = await _page(march, {"role": "programme_manager", "force": "cumbria"}, **MARCH)
    assert page["areas_in_scope"] == ["barrow", "kendal"]
    assert [row["area"] for row in page["rows"]] == ["barrow", "kendal"]
    refused = await _get(march, "/figures", {"role": "programme_manager"}, **MARCH)
    assert (refused.status_code, refused.json()["error"]) == (403, "no_scope")


async def test_small_counts_show_as_fewer_than_5_in_json(march: Insights) -> None:
    page = await _page(march, CUMBRIA_COORDINATOR, **MARCH)
    assert page["suppressed_below"] == 5
    rows = {row["area"]: row for row in page["rows"]}
    kendal = rows["kendal"]
    assert kendal["referrals_opened"] is None, "one referral is never shown as 1"
    assert kendal["withheld"]["referrals_opened"] == "fewer_than_5"
    assert kendal["median_hours_to_first_contact"] is None
    assert kendal["withheld"]["median_hours_to_first_contact"] == "from_fewer_than_5"
    barrow = rows["barrow"]
    assert barrow["referrals_opened"] == 7
    assert (barrow["visits_completed"], barrow["withheld"]["visits_completed"]) == (
        None,
        "fewer_than_5",
    )
    # 6 of 7 reached would say "1 was never reached": the 6 is withheld too.
    assert barrow["referrals_contacted"] is None
    assert barrow["withheld"]["referrals_contacted"] == "reveals_small_count"
    assert barrow["median_hours_to_first_contact"] == 5.0, "a median of 6 referrals is shown"
    assert barrow["active_county_lines"] == 1
    # Asking for Kendal alone does not undo it.
    alone = await _page(march, CUMBRIA_COORDINATOR, area="kendal", **MARCH)
    assert alone["rows"][0]["referrals_opened"] is None
    for row in page["rows"]:
        for name, value in row.items():
            assert not (isinstance(value, int) and 0 < value < 5 and name != "active_county_lines")


async def test_small_counts_show_as_fewer_than_5_in_csv(march: Insights) -> None:
    text = (await _get(march, "/figures.csv", CUMBRIA_COORDINATOR, **MARCH)).text
    rows = {row["area"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["kendal"]["referrals_opened"] == "<5"
    assert rows["kendal"]["median_hours_to_first_contact"] == "[c]"
    assert rows["barrow"]["referrals_opened"] == "7"
    assert rows["barrow"]["referrals_contacted"] == "[c]"
    assert rows["barrow"]["visits_completed"] == "<5"
    assert rows["barrow"]["referrals_cancelled"] == "0"
    assert rows["barrow"]["engagement_rate"] == "", "undefined, not withheld"


async def test_auditors_see_exact_counts_everywhere(march: Insights) -> None:
    page = await _page(march, {"role": "auditor", "force": "cumbria"}, **MARCH)
    assert (page["areas_in_scope"], page["suppressed_below"]) == (None, None)
    rows = {row["area"]: row for row in page["rows"]}
    assert set(rows) == {"barrow", "kendal", "lancaster", None}
    assert (rows["kendal"]["referrals_opened"], rows["kendal"]["referrals_contacted"]) == (1, 1)
    assert (rows["barrow"]["referrals_contacted"], rows["barrow"]["visits_completed"]) == (6, 2)
    assert rows[None]["referrals_opened"] == 1, "what no area covers, for auditors only"
    assert all(row["withheld"] == {} for row in page["rows"])
    text = (await _get(march, "/figures.csv", {"role": "auditor"}, **MARCH)).text
    assert "<5" not in text
    assert "[c]" not in text


async def test_no_reader_but_an_auditor_sees_what_no_area_covers(march: Insights) -> None:
    for reader in (CUMBRIA_COORDINATOR, {"role": "programme_manager", "force": "cumbria"}):
        page = await _page(march, reader, **MARCH)
        assert None not in [row["area"] for row in page["rows"]]
        lines = (await _get(march, "/county-lines", reader, as_of="2024-03-31")).json()
        assert None not in [a["area"] for a in lines["areas"]]
