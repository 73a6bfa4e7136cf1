"""insights beside the real system: police intelligence naming a county line goes through
intake and routing, a support worker works it through casework's API to a close, and the
programme figures read over insights' HTTP API show it, with nothing personal in them."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from referral_schemas.topics import POLICE_INTELLIGENCE

from services.insights.periods import Month
from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.lifecycle_support import PLENTY, Staff, directory_in_force, sees, start_system
from tests.e2e.test_insights_service import Reader, start_insights, unique_place
from tests.support.directory import address_in, cumbria_directory
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import send
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def _with_test_area(area: str, district: str, agency: str) -> dict[str, Any]:
    """Directory overrides: Cumbria plus one test area that only ``agency`` covers."""
    base = cumbria_directory(1, capacity=PLENTY)
    test_area = {
        "code": area,
        "name": f"Test {area}",
        "force": "cumbria",
        "postcode_districts": [district],
    }
    test_agency = {
        "code": agency,
        "name": "Test support agency",
        "areas": [area],
        "services": ["vulnerability_visit", "substance_recovery"],
        "capacity": PLENTY,
        "acceptance_deadline": "PT48H",
        "active": True,
    }
    return {"areas": [*base["areas"], test_area], "agencies": [*base["agencies"], test_agency]}


async def _referral_of(worker: Staff, ref: str) -> str:
    """The referral intake opened for intelligence ``ref``, once it is in the agency's queue."""

    async def found() -> str | None:
        response = await worker.client.get("/referrals", headers=worker.headers())
        items = response.json()["items"] if response.status_code == 200 else []
        return str(items[0]["referral_id"]) if items else None

    rid: str = await eventually(found, f"a referral for {ref} in the queue", timeout_s=180)
    return rid


async def test_a_referral_worked_to_a_close_shows_in_the_programme_figures(
    bootstrap: str, spawn: Spawn, tmp_path: Path
) -> None:
    first_month = Month.of(datetime.now(UTC).date())
    private_path, public_path = ensure_signing_keys(tmp_path)
    private_key = private_path.read_text()
    area, district = unique_place()
    agency = f"ag-{uuid.uuid4().hex[:10]}"
    casework_port = start_system(spawn, "insights-lifecycle", public_path)
    _, insights_port = start_insights(spawn, "insights-lifecycle-insights", public_path)
    await directory_in_force(bootstrap, **_with_test_area(area, district, agency))
    message = submitted(
        county_line="River Line",
        recorded_at=datetime.now(UTC).isoformat(),
        address=address_in(district, "Testtown"),
    )
    await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])

    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{casework_port}", timeout=30) as casework,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{insights_port}", timeout=30) as insights,
    ):
        worker = Staff(casework, private_key, "worker-1", "support_worker", agency=agency)
        rid = await _referral_of(worker, message["data"]["intelligence_ref"])
        await sees(worker, rid, status="awaiting_acceptance")
        await worker.act(rid, "accept")
        await worker.act(rid, "contact-attempts", {"method": "phone", "result": "spoke_to_person"})
        await worker.act(rid, "visits")
        await worker.act(rid, "engagement", {"level": "engaged"})
        await worker.act(rid, "complete", {"outcome": "engaged_with_support"})
        await worker.act(rid, "close")

        reader = Reader(insights, private_key)
        last_month = str(Month.of(datetime.now(UTC).date()))

        async def closed_in_figures() -> list[dict[str, Any]] | None:
            rows = await reader.figures(area, str(first_month), last_month)
            total = sum(row["outcomes"]["engaged_with_support"] for row in rows.values())
            return list(rows.values()) if total else None

        async def line_counted() -> int | None:
            # The directory (hub.directory) is consumed independently of the other topics.
            return await reader.county_lines(area, datetime.now(UTC).date().isoformat())

        rows = await eventually(
            closed_in_figures, "the closed referral in the figures", timeout_s=180
        )
        lines = await eventually(
            line_counted, "the county line counted in the test area", timeout_s=180
        )
        served = json.dumps(rows) + await reader.get("/figures.csv", area=area)

    def total(name: str) -> int:
        return sum(int(row[name]) for row in rows)

    assert (total("referrals_opened"), total("visits_completed")) == (1, 1)
    assert (total("referrals_contacted"), total("engagement_known"), total("engaged")) == (1, 1, 1)
    assert [row["engagement_rate"] for row in rows if row["engagement_known"]] == [1.0]
    medians = [row["median_hours_to_first_contact"] for row in rows if row["referrals_opened"]]
    assert len(medians) == 1
    assert medians[0] is not None
    assert medians[0] >= 0
    assert lines == 1
    for personal in (
        message["data"]["subject"]["family_name"],
        message["data"]["subject"]["given_name"],
        message["data"]["address"]["line1"],
    ):
        assert personal not in served
