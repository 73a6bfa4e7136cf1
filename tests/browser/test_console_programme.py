"""The programme page in a real browser, with figures from the running insights service:
a manager of Cumbria sees this month's Barrow figures as charts and a table (small counts
as "fewer than 5"), can download them as CSV, and axe-core finds no serious or critical
problem on the page."""

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import RunningSystem
from tests.browser.support import (
    WAIT_MS,
    assert_accessible,
    barrow_only_twc,
    open_referral,
    screenshot,
    sign_in,
)
from tests.e2e.lifecycle_support import directory_in_force

pytestmark = pytest.mark.browser


async def test_a_programme_manager_sees_the_figures_as_charts_and_csv(
    browser: Browser, bootstrap: str, system: RunningSystem
) -> None:
    if not system.insights:
        pytest.skip("services/insights is not in this tree")
    await directory_in_force(bootstrap, agencies=barrow_only_twc())
    await open_referral(bootstrap)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    base = system.console_url
    month = datetime.now(UTC).strftime("%Y-%m")
    try:
        await sign_in(page, base, "Robin Ellis")
        await expect(page).to_have_url(re.compile("/programme$"))
        row = page.locator("table.figures tbody tr").filter(has_text="Barrow-in-Furness")
        for _ in range(90):
            await page.goto(f"{base}/programme?from={month}&to={month}&area=barrow")
            if await row.count():
                break
            await page.wait_for_timeout(1000)
        # Barrow's referrals this month: at least the one opened here, shown as a number of
        # 5 or more, or as "fewer than 5" (a programme manager never sees a count of 1 to 4).
        shown = (await row.first.locator('td[data-label="Referrals"]').inner_text()).strip()
        assert shown == "fewer than 5" or int(shown) >= 5, shown
        await expect(page.get_by_role("img", name="Referrals opened per month")).to_be_visible()
        await expect(page.get_by_role("img", name="Median hours to first contact")).to_be_visible()
        await assert_accessible(page)
        await page.goto(f"{base}/programme?area=barrow")
        await screenshot(page, "programme")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Download these figures (CSV)").click()
        download = await download_info.value
        path = await download.path()
        assert path.read_text(encoding="utf-8").startswith("area,area_name,month,")
    finally:
        await context.close()
