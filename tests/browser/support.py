"""What the browser tests do often: sign in as a demo user, find a referral in a paged
list, run axe-core in the page, write screenshots for the docs."""

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect
from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from tests.e2e.helpers import event_about, event_for_referral
from tests.support.directory import cumbria_directory
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import send, watch

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
# The README's screenshots are rewritten only when asked (make screenshots); otherwise a run
# leaves them in the ignored state folder, so the suite does not dirty the working tree.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("HUB_UPDATE_SCREENSHOTS") == "1"
    else ROOT / ".state" / "screenshots"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
WAIT_MS = 60_000  # two shared cores: generous, and never an assertion about speed


def barrow_only_twc() -> list[dict[str, Any]]:
    """Agencies where Barrow is covered by The Well Communities' Barrow team alone."""
    agencies: list[dict[str, Any]] = cumbria_directory(1)["agencies"]
    for agency in agencies:
        if agency["code"] == "cumbria-recovery-south":
            agency["areas"] = ["kendal"]
    return agencies


async def open_referral(bootstrap: str, **data: Any) -> str:
    """Send new intelligence about someone in Barrow; the id of the referral once routed."""
    message = submitted(**data)
    ref = message["data"]["intelligence_ref"]
    async with watch(bootstrap, REFERRAL_EVENTS) as events:
        await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [encode(message)])
        opened = (await events.wait_for(event_about("ReferralOpened", ref)))[0]
        rid = str(opened.json()["data"]["referral_id"])
        await events.wait_for(event_for_referral("ReferralRouted", rid))
    return rid


async def sign_in(page: Page, base: str, name: str) -> None:
    """Through the demo sign-in page, as a person would."""
    await page.goto(f"{base}/sign-in")
    await expect(page.get_by_text("Demo sign-in — local development only.")).to_be_visible()
    await expect(page.get_by_text("This is the demo sign-in")).to_be_visible()
    await page.get_by_label(re.compile(rf"^{re.escape(name)} ")).check()
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You have signed out.")).to_be_visible()


async def find_in_list(page: Page, url: str, referral_id: str, pages: int = 60) -> None:
    """Open ``url`` and follow 'Next page' until the referral's link shows, reloading from
    the first page while it has not arrived yet."""
    link = page.locator(f'a[href="/referrals/{referral_id}"]')
    for _ in range(pages):
        await page.goto(url)
        while await link.count() == 0:
            following = page.get_by_role("link", name="Next page")
            if await following.count() == 0:
                break
            await following.click()
        if await link.count():
            return
        await page.wait_for_timeout(1000)
    raise AssertionError(f"referral {referral_id} never appeared at {url}")


@functools.cache
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (shipped in tests/browser/vendor) run in the page: serious and critical
    violations of WCAG 2.0/2.1/2.2 A and AA rules."""
    await page.evaluate(axe_source())
    result: dict[str, Any] = await page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        })""",
        AXE_TAGS,
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def assert_accessible(page: Page) -> None:
    found = await serious_violations(page)
    assert found == [], f"axe-core on {page.url}:\n{json.dumps(found, indent=2)}"


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
