"""The staff and police pages against a fake casework: what they show, what they send."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.runtime.auth import AUDIENCE, LOCAL_ISSUER, TokenVerifier
from tests.unit.test_console_harness import (
    Console,
    FakeCasework,
    console,
    console_keys,
    fake_casework,
    sent_json,
)

pytestmark = pytest.mark.unit
__all__ = ["console", "console_keys", "fake_casework"]


async def test_the_queue_shows_codes_and_deadlines_but_no_names(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add()
    fake_casework.add(agency="twc-carlisle", area="carlisle")
    await console.sign_in()
    page = await console.client.get("/queue")
    assert page.status_code == 200
    assert f'href="/referrals/{rid}"' in page.text
    assert rid[:8].upper() in page.text
    assert "Awaiting acceptance" in page.text
    assert "2 markers" in page.text
    assert "Testperson" not in page.text, "the queue shows no names"
    assert "Showing 1–1 of 1" in page.text


async def test_overdue_referrals_are_marked_in_words_not_only_colour(
    console: Console, fake_casework: FakeCasework
) -> None:
    fake_casework.add(overdue=True)
    await console.sign_in()
    page = await console.client.get("/queue")
    assert '<tr class="overdue">' in page.text
    assert ">Overdue</span>" in page.text


async def test_queue_filters_and_paging_reach_casework(
    console: Console, fake_casework: FakeCasework
) -> None:
    for _ in range(30):
        fake_casework.add(status="accepted")
    await console.sign_in()
    page = await console.client.get("/queue?status=accepted&area=barrow&overdue=no&page=2")
    sent = fake_casework.requests[-1].url.params
    assert dict(sent) == {
        "status": "accepted",
        "area": "barrow",
        "overdue": "false",
        "limit": "25",
        "offset": "25",
    }
    assert "Showing 26–30 of 30" in page.text
    assert 'href="/queue?status=accepted&amp;area=barrow&amp;overdue=no&amp;page=1"' in page.text


async def test_unknown_filter_values_are_ignored(
    console: Console, fake_casework: FakeCasework
) -> None:
    await console.sign_in()
    await console.client.get("/queue?status=nonsense&area=x'y&page=-3")
    assert dict(fake_casework.requests[-1].url.params) == {"limit": "25", "offset": "0"}


async def test_the_detail_shows_the_person_and_the_safety_markers_first(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add()
    await console.sign_in()
    page = await console.client.get(f"/referrals/{rid}")
    assert page.status_code == 200
    text = page.text
    assert "Visitor safety: read before any contact or visit" in text
    assert text.index("Aggressive dogs") < text.index("Person to visit")
    assert "Do not visit alone" in text
    assert "Robin Testperson" in text
    assert "LA14 1AA" in text
    assert "Accept referral" in text
    assert "Decline referral" in text
    assert "Complete referral" not in text, "not offered before acceptance"


async def test_an_erased_person_reads_as_erased_with_the_date_and_the_history_stays(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(
        status="closed",
        outcome="engaged_with_support",
        subject=None,
        address=None,
        personal_details_erased_at="2026-11-30T10:15:00+00:00",
    )
    await console.sign_in()
    page = await console.client.get(f"/referrals/{rid}")
    assert page.status_code == 200
    assert "Personal details erased on 30 Nov 2026." in page.text
    assert "Robin" not in page.text
    assert "Routed to agency" in page.text, "the history stays"


async def test_a_referral_of_another_agency_reads_as_not_found(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(agency="twc-carlisle")
    await console.sign_in("barrow-worker")
    for path in (f"/referrals/{rid}", f"/referrals/{rid}/timeline", "/referrals/not-a-uuid"):
        page = await console.client.get(path)
        assert page.status_code == 404, path
        assert "Referral not found" in page.text


async def test_an_action_goes_to_casework_with_the_form_key_and_redirects(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add()
    await console.sign_in()
    response = await console.post_form(
        f"/referrals/{rid}/actions/decline",
        {"reason": "no_capacity", "action_key": "form-key-1"},
        f"/referrals/{rid}",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/referrals/{rid}"
    sent = fake_casework.actions()[-1]
    assert sent.url.path == f"/referrals/{rid}/decline"
    assert sent.headers["Idempotency-Key"] == "form-key-1"
    assert sent_json(sent) == {"reason": "no_capacity"}
    page = await console.client.get(response.headers["location"])
    assert "Referral declined; it will be routed again." in page.text


async def test_a_missing_choice_is_explained_and_nothing_is_sent(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add()
    await console.sign_in()
    response = await console.post_form(
        f"/referrals/{rid}/actions/decline", {"reason": ""}, f"/referrals/{rid}"
    )
    assert response.status_code == 422
    assert "Choose a reason for declining." in response.text
    assert fake_casework.actions() == []


async def test_casework_refusals_are_shown_with_their_reason(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(status="accepted")
    fake_casework.refuse_with = (
        409,
        {"error": "referral_held", "detail": "the referral is on a police hold; do not approach"},
    )
    await console.sign_in()
    response = await console.post_form(f"/referrals/{rid}/actions/visit", {}, f"/referrals/{rid}")
    assert response.status_code == 409
    assert "There is a problem" in response.text
    assert "the referral is on a police hold; do not approach" in response.text


async def test_a_support_worker_assigns_only_themselves(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(status="accepted")
    await console.sign_in("barrow-worker")
    await console.post_form(
        f"/referrals/{rid}/actions/assign", {"worker": "someone-else"}, f"/referrals/{rid}"
    )
    assert sent_json(fake_casework.actions()[-1]) == {"worker": "twc-b-0487"}


async def test_a_lead_sees_workload_per_worker_and_overdue_items(
    console: Console, fake_casework: FakeCasework
) -> None:
    for worker in ("w-1", "w-1", "w-2", None):
        fake_casework.add(status="accepted", assigned_to=worker)
    await console.sign_in("barrow-lead")
    page = await console.client.get("/team")
    assert page.status_code == 200
    assert "w-1" in page.text
    assert "Not assigned" in page.text
    assert '<td class="num" data-label="Referrals">2</td>' in page.text


async def test_police_see_escalations_and_outcomes_of_their_force(
    console: Console, fake_casework: FakeCasework
) -> None:
    fake_casework.add(status="escalated", agency=None)
    closed = fake_casework.add(status="closed", outcome="engaged_with_support")
    await console.sign_in("police")
    escalations = await console.client.get("/police/escalations")
    assert fake_casework.requests[-1].url.params["status"] == "escalated"
    assert "Escalated to police" in escalations.text
    outcomes = await console.client.get("/police/outcomes")
    assert fake_casework.requests[-1].url.params["status"] == "closed"
    assert closed[:8].upper() in outcomes.text
    assert "Engaged with support" in outcomes.text
    detail = await console.client.get(f"/referrals/{closed}")
    assert "Place hold" not in detail.text, "a closed referral cannot be held"


async def test_police_may_hold_an_open_referral(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(status="accepted")
    await console.sign_in("police")
    page = await console.client.get(f"/referrals/{rid}")
    assert "Place hold" in page.text
    assert "Accept referral" not in page.text
    await console.post_form(
        f"/referrals/{rid}/actions/hold", {"reason": "live_police_operation"}, f"/referrals/{rid}"
    )
    sent = fake_casework.actions()[-1]
    assert (sent.method, sent.url.path) == ("POST", f"/referrals/{rid}/holds")


async def test_a_token_casework_no_longer_accepts_signs_the_user_out(
    console: Console, fake_casework: FakeCasework
) -> None:
    await console.sign_in()
    fake_casework.verifier = TokenVerifier(
        _other_public_key(), LOCAL_ISSUER, AUDIENCE
    )  # casework now trusts another key
    response = await console.client.get("/queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/queue"
    assert (await console.client.get("/queue")).status_code == 303, "the session was ended"


async def test_casework_down_shows_a_clear_page(console: Console) -> None:
    await console.sign_in()
    console.casework.down = True
    response = await console.client.get("/queue")
    assert response.status_code == 503
    assert "the casework service could not be reached" in response.text


def _other_public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


async def test_a_coordinator_resolves_an_escalation_from_its_page(
    console: Console, fake_casework: FakeCasework
) -> None:
    rid = fake_casework.add(
        status="escalated", agency=None, escalation_reason="no_agency_with_capacity"
    )
    await console.sign_in("police")
    escalations = await console.client.get("/police/escalations")
    assert "No agency with capacity" in escalations.text
    page = await console.client.get(f"/referrals/{rid}")
    for button in ("Direct referral", "Close referral", "Cancel referral"):
        assert button in page.text
    assert '<option value="twc-barrow">The Well Communities (twc-barrow)</option>' in page.text
    assert "old-agency" not in page.text, "an inactive agency is not offered"
    forms = [
        ("direct", {"agency": "twc-barrow", "reason": "capacity_agreed_with_agency"}),
        ("close-escalation", {"outcome": "safeguarding_escalated"}),
        ("cancel", {"reason": "no_longer_required"}),
    ]
    for action, data in forms:
        response = await console.post_form(
            f"/referrals/{rid}/actions/{action}", data, f"/referrals/{rid}"
        )
        assert response.status_code == 303
        sent = fake_casework.actions()[-1]
        assert (sent.url.path, sent_json(sent)) == (f"/referrals/{rid}/{action}", data)


async def test_without_a_directory_the_coordinator_types_the_agency_code(
    console: Console, fake_casework: FakeCasework
) -> None:
    fake_casework.agencies = []
    rid = fake_casework.add(status="escalated", agency=None)
    await console.sign_in("police")
    page = await console.client.get(f"/referrals/{rid}")
    assert 'id="direct-agency" name="agency"' in page.text
    missing = await console.post_form(
        f"/referrals/{rid}/actions/direct", {"reason": "only_suitable_agency"}, f"/referrals/{rid}"
    )
    assert missing.status_code == 422
    assert "Choose the agency to offer it to." in missing.text


async def test_resolutions_are_not_offered_once_accepted_nor_to_staff(
    console: Console, fake_casework: FakeCasework
) -> None:
    accepted = fake_casework.add(status="accepted")
    escalated = fake_casework.add(status="escalated")
    await console.sign_in("police")
    assert "Direct referral" not in (await console.client.get(f"/referrals/{accepted}")).text
    await console.sign_in("barrow-worker")
    assert "Direct referral" not in (await console.client.get(f"/referrals/{escalated}")).text


async def test_the_detail_shows_a_paused_deadline_an_amendment_and_the_history(
    console: Console, fake_casework: FakeCasework
) -> None:
    earlier = "0b6f6c8e-4a51-4d2c-9a0e-3f1d2c3b4a59"
    rid = fake_casework.add(
        held=True,
        hold_reason="live_police_operation",
        due_by=None,
        paused_remaining="PT8H",
        amended_at="2025-06-03T10:00:00Z",
        previous_referral_id=earlier,
    )
    fake_casework.referrals[rid]["timeline"].append(
        {
            "event_id": "5d0c2c7e-1f0b-4c3e-8a8e-2e7b6b3a1c11",
            "type": "ReferralRouted",
            "at": "2025-06-03T11:00:00Z",
            "actor": "system:routing",
            "agency": "twc-barrow",
            "summary": {"agency": "twc-barrow"},
            "no_effect": "referral_cancelled",
        }
    )
    await console.sign_in()
    page = (await console.client.get(f"/referrals/{rid}")).text
    assert "The acceptance deadline is paused with 8 hours left" in page
    assert "Paused by the police hold (8 hours left)" in page
    assert "some of the intelligence behind this referral was withdrawn" in page
    assert f'href="/referrals/{earlier}"' in page
    timeline = (await console.client.get(f"/referrals/{rid}/timeline")).text
    assert "No effect</span>" in timeline
    assert "the referral was already cancelled" in timeline


async def test_a_referral_being_rerouted_is_labelled_in_words(
    console: Console, fake_casework: FakeCasework
) -> None:
    fake_casework.add(status="rerouting")
    await console.sign_in("police")
    page = await console.client.get("/police?status=rerouting")
    assert "Being offered to another agency" in page.text
