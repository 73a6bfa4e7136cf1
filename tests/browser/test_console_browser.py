"""The console in a real browser against the whole running system: a support worker works a
new referral to its outcome, the police coordinator sees the outcome and cancels a referral
no agency has accepted, other agencies cannot reach it, forms without the CSRF token are
refused, signed-out users go to sign-in, and axe-core finds no serious or critical
accessibility problem on the pages."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from services.audit_tools.file_check import verify_file
from tests.browser.conftest import RunningSystem
from tests.browser.support import (
    WAIT_MS,
    assert_accessible,
    barrow_only_twc,
    find_in_list,
    open_referral,
    screenshot,
    sign_in,
    sign_out,
)
from tests.e2e.lifecycle_support import directory_in_force

pytestmark = pytest.mark.browser

WORKER, LEAD, POLICE = "Alex Morgan", "Jo Patel", "DS Kim Hughes"
OTHER_AGENCY, AUDITOR = "Sam Reid", "Pat Quinn"


@pytest.fixture(scope="module")
async def referral_id(bootstrap: str, system: RunningSystem) -> str:
    """A new referral from police intelligence, routed to The Well Communities, Barrow."""
    await directory_in_force(bootstrap, agencies=barrow_only_twc())
    # Others in the same queue, so it looks like a working day (and the screenshots do too).
    for indicators, markers in (
        (["child_criminal_exploitation"], ["aggressive_dogs"]),
        (["drug_running"], []),
        (["debt_bondage", "drug_dealing_from_address"], ["weapons_at_address"]),
    ):
        await open_referral(bootstrap, indicators=indicators, visitor_safety=markers)
    return await open_referral(bootstrap)


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    made.set_default_timeout(WAIT_MS)
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def test_a_worker_accepts_visits_and_completes_and_police_see_the_outcome(
    page: Page, system: RunningSystem, referral_id: str
) -> None:
    base = system.console_url
    await sign_in(page, base, WORKER)
    await find_in_list(page, f"{base}/queue?status=awaiting_acceptance", referral_id)
    await expect(page.get_by_role("heading", name=re.compile("Referral queue"))).to_be_visible()
    await assert_accessible(page)
    await page.goto(f"{base}/queue")  # the unfiltered queue, for the docs
    await screenshot(page, "queue")
    await find_in_list(page, f"{base}/queue?status=awaiting_acceptance", referral_id)

    await page.locator(f'a[href="/referrals/{referral_id}"]').click()
    safety = page.get_by_role("region", name=re.compile("Visitor safety"))
    await expect(safety).to_contain_text("Do not visit alone")
    await page.get_by_role("button", name="Accept referral").click()
    await expect(page.get_by_role("status")).to_have_text("Referral accepted.")
    await page.get_by_role("button", name="Log visit", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Home visit logged.")
    await expect(page.locator("dt:text-is('Visits completed') + dd")).to_have_text("1")
    await assert_accessible(page)
    await screenshot(page, "referral-detail")

    complete = page.locator("#action-complete")
    await complete.get_by_label("Outcome").select_option("engaged_with_support")
    await complete.get_by_role("button", name="Complete referral").click()
    await expect(page.get_by_role("status")).to_contain_text("Referral completed.")
    await page.get_by_role("button", name="Close referral").click()
    await expect(page.get_by_role("status")).to_contain_text("Referral closed")

    await page.get_by_role("link", name=re.compile("See the whole timeline")).click()
    timeline = page.get_by_role("table")
    for step in ("Routed to agency", "Accepted", "Visit completed", "Completed", "Closed"):
        await expect(timeline.get_by_role("rowheader", name=step, exact=True)).to_have_count(1)
    await expect(timeline).to_contain_text("user:twc-b-0487")
    await assert_accessible(page)
    await sign_out(page)

    await sign_in(page, base, POLICE)
    await find_in_list(page, f"{base}/police/outcomes", referral_id)
    row = page.locator("tr", has=page.locator(f'a[href="/referrals/{referral_id}"]'))
    await expect(row).to_contain_text("Engaged with support")
    await assert_accessible(page)
    await screenshot(page, "police-outcomes")
    await sign_out(page)
    if system.audit:
        await _auditor_sees_every_action_and_consultation(page, base, referral_id)


async def _auditor_sees_every_action_and_consultation(page: Page, base: str, rid: str) -> None:
    await sign_in(page, base, AUDITOR)
    await page.get_by_label("Referral reference").fill(rid)
    await page.get_by_role("button", name="Show its timeline").click()
    ledger = page.locator("table.ledger")
    closed = ledger.get_by_role("rowheader", name="Closed", exact=True)
    for _ in range(90):  # the ledger follows the topics a moment behind
        if await closed.count():
            break
        await page.wait_for_timeout(1000)
        await page.goto(f"{base}/audit/referrals/{rid}")
    for step in ("Accepted", "Visit completed", "Completed", "Closed"):
        row = ledger.locator("tr", has=page.get_by_role("rowheader", name=step, exact=True))
        await expect(row).to_contain_text("user:twc-b-0487")
    access = page.get_by_role("region", name="Access log: who consulted it")
    await expect(access.locator("tr", has_text="user:twc-b-0487").first).to_contain_text("Casework")
    await assert_accessible(page)
    await screenshot(page, "audit-timeline")
    await page.goto(f"{base}/audit/verification")
    await expect(page.get_by_text("The ledger verifies.")).to_be_visible()
    await _auditor_finds_it_by_period_and_downloads_a_verifiable_export(page, base, rid)


async def _auditor_finds_it_by_period_and_downloads_a_verifiable_export(
    page: Page, base: str, rid: str
) -> None:
    today = datetime.now(UTC).date()
    await page.goto(f"{base}/audit")
    await page.get_by_label("From (date, UTC)").fill((today - timedelta(days=1)).isoformat())
    await page.get_by_label("To (date, UTC, included)").fill(today.isoformat())
    await page.get_by_role("button", name="Find referrals in this period").click()
    found = page.locator(f'table.period a[href="/audit/referrals/{rid}"]')
    for _ in range(60):  # paged, most recently active first: it was just consulted
        if await found.count():
            break
        await page.wait_for_timeout(1000)
        await page.reload()
    await expect(found).to_have_count(1)
    await assert_accessible(page)
    row = page.locator("table.period tr", has=page.locator(f'a[href="/audit/referrals/{rid}"]'))
    async with page.expect_download() as info:
        await row.get_by_role("link", name=re.compile("Signed export")).click()
    download = await info.value
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    checked = verify_file(data)
    assert checked.ok, checked.problems
    assert rid.encode() in data
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile("signed export of this period")).click()
    period = await info.value
    period_data = await asyncio.to_thread(Path(await period.path()).read_bytes)
    assert verify_file(period_data).ok


async def test_a_coordinator_cancels_a_referral_no_agency_has_accepted(
    page: Page, bootstrap: str, system: RunningSystem
) -> None:
    await directory_in_force(bootstrap, agencies=barrow_only_twc())
    rid = await open_referral(bootstrap)
    base = system.console_url
    await sign_in(page, base, POLICE)
    await find_in_list(page, f"{base}/police?status=awaiting_acceptance", rid)
    await page.locator(f'a[href="/referrals/{rid}"]').click()
    await expect(page.get_by_role("button", name="Direct referral")).to_be_visible()
    await expect(page.get_by_role("button", name="Close referral")).to_be_visible()
    await assert_accessible(page)
    cancel = page.locator("#action-cancel")
    await cancel.get_by_label("Reason for cancelling").select_option("no_longer_required")
    await cancel.get_by_role("button", name="Cancel referral").click()
    await expect(page.get_by_role("status")).to_have_text("Referral cancelled.")
    await expect(page.locator("h1")).to_contain_text("Cancelled")
    await expect(page.get_by_role("button", name="Direct referral")).to_have_count(0)
    await assert_accessible(page)
    await sign_out(page)


async def test_a_worker_of_another_agency_cannot_reach_the_referral_by_url(
    page: Page, system: RunningSystem, referral_id: str
) -> None:
    await sign_in(page, system.console_url, OTHER_AGENCY)
    for path in (f"/referrals/{referral_id}", f"/referrals/{referral_id}/timeline"):
        response = await page.goto(f"{system.console_url}{path}")
        assert response is not None
        assert response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("Referral not found")
        await expect(page.locator("main")).not_to_contain_text("Person to visit")


async def test_forms_without_a_valid_csrf_token_are_refused(
    page: Page, context: BrowserContext, system: RunningSystem, referral_id: str
) -> None:
    base = system.console_url
    await sign_in(page, base, POLICE)
    await page.goto(f"{base}/referrals/{referral_id}/timeline")
    # A form whose token was tampered with, submitted from the page itself...
    await page.goto(f"{base}/police")
    await page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged')"
    )
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("This form was refused")
    await page.goto(f"{base}/police")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in
    # ...and a post with the session's cookie but no token at all, as another site would.
    refused = await context.request.post(
        f"{base}/referrals/{referral_id}/actions/hold",
        form={"reason": "live_police_operation"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "This form was refused" in await refused.text()


async def test_signed_out_users_are_sent_to_sign_in(
    page: Page, system: RunningSystem, referral_id: str
) -> None:
    base = system.console_url
    for path in ("/queue", f"/referrals/{referral_id}", "/police/outcomes", "/team"):
        await page.goto(f"{base}{path}")
        await expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        await expect(page.get_by_role("heading", name="Demo sign-in")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "sign-in")
    await sign_in(page, base, WORKER)
    await sign_out(page)
    await page.goto(f"{base}/queue")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/queue$"))


async def test_a_lead_sees_the_teams_workload_and_overdue_items(
    page: Page, system: RunningSystem, referral_id: str
) -> None:
    await sign_in(page, system.console_url, LEAD)
    await page.get_by_role("link", name="Team workload").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Team workload")
    await expect(page.get_by_role("heading", name="Accepted referrals per worker")).to_be_visible()
    await assert_accessible(page)


async def test_pages_are_usable_at_320_pixels_wide(
    browser: Browser, system: RunningSystem, referral_id: str
) -> None:
    narrow = await browser.new_context(viewport={"width": 320, "height": 640})
    narrow.set_default_timeout(WAIT_MS)
    page = await narrow.new_page()
    base = system.console_url
    try:
        await sign_in(page, base, POLICE)
        for path in ("/police", f"/referrals/{referral_id}", f"/referrals/{referral_id}/timeline"):
            await page.goto(f"{base}{path}")
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways at 320px"
            await assert_accessible(page)
        await page.goto(f"{base}/referrals/{referral_id}")
        await screenshot(page, "referral-detail-320px")
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        assert focused == "Skip to main content"
    finally:
        await narrow.close()
