"""The queue (order, filters, paging, cancelled referrals), the detail page, and the record
of every read of a referral (ReferralConsulted on hub.access)."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from referral_schemas import CancellationReason, RiskLevel

from tests.integration.test_casework_harness import Casework, casework, casework_pool, signing_keys
from tests.unit.test_casework_helpers import breached, cancelled, opened, routed

pytestmark = pytest.mark.integration
__all__ = ["casework", "casework_pool", "signing_keys"]


def new_agency() -> str:
    return f"ag-{uuid.uuid4().hex[:10]}"


async def queue(casework: Casework, agency: str, **params: Any) -> Any:
    response = await casework.client.get(
        "/referrals", params=params, headers=casework.headers(agency=agency)
    )
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: Any) -> list[str]:
    return [item["referral_id"] for item in page["items"]]


async def test_queue_is_ordered_by_risk_then_deadline(casework: Casework) -> None:
    agency = new_agency()
    seeds = [
        (RiskLevel.LOW, 1),
        (RiskLevel.CRITICAL, 30),
        (RiskLevel.HIGH, 20),
        (RiskLevel.CRITICAL, 10),
        (RiskLevel.MEDIUM, 5),
        (RiskLevel.HIGH, 8),
    ]
    made = {
        seed: await casework.routed_referral(
            agency=agency, risk=seed[0], due_in=timedelta(hours=seed[1])
        )
        for seed in seeds
    }
    expected_order = [
        (RiskLevel.CRITICAL, 10),
        (RiskLevel.CRITICAL, 30),
        (RiskLevel.HIGH, 8),
        (RiskLevel.HIGH, 20),
        (RiskLevel.MEDIUM, 5),
        (RiskLevel.LOW, 1),
    ]
    page = await queue(casework, agency)
    assert ids(page) == [str(made[seed]) for seed in expected_order]
    assert page["total"] == 6


async def test_paging_walks_the_whole_queue_once(casework: Casework) -> None:
    agency = new_agency()
    for hours in range(7):
        await casework.routed_referral(agency=agency, due_in=timedelta(hours=hours + 2))
    everything = ids(await queue(casework, agency))
    pages = [await queue(casework, agency, limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert {p["total"] for p in pages} == {7}
    assert [i for p in pages for i in ids(p)] == everything


@pytest.mark.parametrize("limit", [0, 201, -1])
async def test_page_size_must_be_between_1_and_200(casework: Casework, limit: int) -> None:
    response = await casework.client.get(
        "/referrals", params={"limit": limit}, headers=casework.headers()
    )
    assert response.status_code == 422
    assert "query.limit" in response.json()["detail"]


async def test_filters_by_status_area_and_overdue(casework: Casework) -> None:
    agency = new_agency()
    waiting = await casework.routed_referral(agency=agency, area="barrow")
    kendal = await casework.routed_referral(agency=agency, area="kendal")
    breached_one = await casework.routed_referral(agency=agency)
    await casework.feed(breached(breached_one, agency=agency))
    past_due = await casework.routed_referral(agency=agency, due_in=timedelta(minutes=1))
    accepted = await casework.routed_referral(agency=agency)
    headers = casework.headers(agency=agency)
    assert (
        await casework.client.post(f"/referrals/{accepted}/accept", headers=headers)
    ).status_code == 200

    assert ids(await queue(casework, agency, status="accepted")) == [str(accepted)]
    assert ids(await queue(casework, agency, area="kendal")) == [str(kendal)]
    # Overdue: past its running deadline on the clock. A breach casework answered with
    # OfferExpired took the offer away from the agency: it is in none of its lists.
    assert ids(await queue(casework, agency, overdue=True)) == [str(past_due)]
    not_overdue = set(ids(await queue(casework, agency, overdue=False)))
    assert not_overdue == {str(waiting), str(kendal), str(accepted)}
    assert str(breached_one) not in ids(await queue(casework, agency))
    bad = await casework.client.get("/referrals", params={"status": "lost"}, headers=headers)
    assert bad.status_code == 422


async def test_a_cancelled_referral_shows_as_cancelled_with_its_reason(casework: Casework) -> None:
    agency = new_agency()
    rid = await casework.routed_referral(agency=agency)
    await casework.feed(cancelled(rid, CancellationReason.MOVED_AWAY))
    [item] = (await queue(casework, agency))["items"]
    assert (item["status"], item["cancel_reason"]) == ("cancelled", "moved_away")


async def test_the_queue_shows_no_personal_data_and_reads_are_not_consultations(
    casework: Casework,
) -> None:
    agency = new_agency()
    await casework.routed_referral(agency=agency)
    response = await casework.client.get("/referrals", headers=casework.headers(agency=agency))
    assert "Testperson" not in response.text
    assert "Test Street" not in response.text
    assert await casework.outbox() == []


async def test_police_see_their_forces_referrals_across_agencies(casework: Casework) -> None:
    force = f"f{uuid.uuid4().hex[:10]}"
    rids = []
    for agency in (new_agency(), new_agency()):
        rid = uuid.uuid4()
        await casework.feed(opened(rid, force=force), routed(rid, agency=agency))
        rids.append(str(rid))
    headers = casework.headers("police_coordinator", user="spoc-1", agency=None, force=force)
    page = (await casework.client.get("/referrals", headers=headers)).json()
    assert sorted(ids(page)) == sorted(rids)


async def test_detail_shows_the_minimised_referral_and_its_timeline(casework: Casework) -> None:
    rid = await casework.routed_referral()
    headers = casework.headers()
    await casework.client.post(f"/referrals/{rid}/accept", headers=headers)
    response = await casework.client.get(f"/referrals/{rid}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["subject"]["family_name"] == "Testperson"
    assert body["address"]["postcode"] == "LA14 9ZZ"
    assert "intelligence_ref" not in response.text
    types = [entry["type"] for entry in body["timeline"]]
    assert types == ["ReferralOpened", "ReferralRouted", "ReferralAccepted", "ReferralAssigned"]
    accepted = body["timeline"][2]
    assert (accepted["actor"], accepted["summary"]["by"]) == ("user:worker-1", "worker-1")
    assert accepted["pending"] is True, "not yet read back from the log"
    assert body["status"] == "accepted"
    assert body["timeline"][3]["summary"]["worker"] == "worker-1", "who accepts works it"
    opened_entry = body["timeline"][0]["summary"]
    assert set(opened_entry) == {"risk_level", "reason_categories", "visitor_safety"}


async def test_every_detail_read_is_recorded_once(casework: Casework) -> None:
    rid = await casework.routed_referral()
    headers = casework.headers()
    for _ in range(3):
        assert (await casework.client.get(f"/referrals/{rid}", headers=headers)).status_code == 200
    records = [e for e in await casework.outbox(rid) if e["type"] == "ReferralConsulted"]
    assert len(records) == 3
    assert len({r["id"] for r in records}) == 3
    record = records[0]
    assert (record["topic"], record["key"]) == ("hub.access", str(rid))
    assert record["data"]["user"] == "worker-1"
    assert (record["data"]["agency"], record["data"]["role"]) == ("twc-barrow", "support_worker")
    assert record["data"]["purpose"] == "casework"
    assert "Testperson" not in str(record)


async def test_police_reads_are_recorded_for_police_coordination(casework: Casework) -> None:
    rid = await casework.routed_referral()
    headers = casework.headers("police_coordinator", user="spoc-1", agency=None, force="cumbria")
    assert (await casework.client.get(f"/referrals/{rid}", headers=headers)).status_code == 200
    [record] = await casework.outbox(rid)
    assert (record["data"]["purpose"], record["data"]["agency"]) == ("police_coordination", None)


async def test_refused_reads_are_not_recorded_as_consultations(casework: Casework) -> None:
    rid = await casework.routed_referral(agency=new_agency())
    response = await casework.client.get(f"/referrals/{rid}", headers=casework.headers())
    assert response.status_code == 404
    assert await casework.outbox() == []
