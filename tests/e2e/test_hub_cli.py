"""The README's walk-through, as a newcomer runs it: `hub up`, `hub demo`,
`hub referrals list`, `hub deadletters list` — against the real stack."""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from referral_schemas.topics import REFERRAL_EVENTS

from tests.e2e.helpers import referral_event, worked_and_closed
from tests.support.kafka import send

pytestmark = pytest.mark.e2e

HUB = [sys.executable, "-m", "services.hub.main"]
WIDE = {**os.environ, "COLUMNS": "300"}


def hub(*args: str) -> str:
    done = subprocess.run([*HUB, *args], env=WIDE, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"hub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def running_hub(stack_env: dict[str, str]) -> Iterator[str]:
    """`hub up`'s output while everything runs."""
    said = hub("up")
    try:
        yield said
    finally:
        hub("stop")


def _rows_until(ref: str, shown: str, timeout_s: float = 60.0) -> str:
    """The listing once the row holding ``ref`` shows ``shown`` (or the last one tried)."""
    deadline = time.monotonic() + timeout_s
    while True:
        listing = hub("referrals", "list", "--limit", "10000")
        rows = [line for line in listing.splitlines() if ref in line]
        if any(shown in row for row in rows) or time.monotonic() > deadline:
            return listing
        time.sleep(0.5)


def _row_of(listing: str, ref: str) -> str:
    rows = [line for line in listing.splitlines() if ref in line]
    assert len(rows) == 1, f"{ref} should be on exactly one row:\n{listing}"
    return rows[0]


def test_up_demo_and_list_show_the_demo_referrals(running_hub: str, tmp_path: Path) -> None:
    # The local stack's console offers the demo sign-in, and `hub up` says so and why.
    assert "console: demo sign-in is ON" in running_hub
    assert "local development stack" in running_hub
    status = hub("status")
    assert "intake" in status
    assert "running" in status
    assert "outbox backlog" in status, "hub status shows each service's backlog and lag"
    sent = hub("demo")
    assert "Published 10 messages" in sent
    listing = _rows_until("CUM/DEMO/001", "CUM/DEMO/007")
    not_ended = ("opened", "awaiting_acceptance", "rerouting", "escalated")
    for ref in ("CUM/DEMO/001", "CUM/DEMO/002", "CUM/DEMO/003", "CUM/DEMO/004", "CUM/DEMO/005"):
        assert any(status in _row_of(listing, ref) for status in not_ended), ref
    # More intelligence about Jordan Pike joined his referral rather than opening another.
    assert "CUM/DEMO/007" in _row_of(listing, "CUM/DEMO/001")
    # The resent CUM/DEMO/003 is still one referral; the withdrawn CUM/DEMO/006 is cancelled
    # (intake asks, casework cancels).
    assert _row_of(listing, "CUM/DEMO/003").count("CUM/DEMO/003") == 1
    listing = _rows_until("CUM/DEMO/006", "cancelled")
    assert "cancelled" in _row_of(listing, "CUM/DEMO/006")
    assert "CUM/DEMO/008" not in listing, "the invalid message opened nothing"
    # Names never appear in the operator's listing.
    assert "Pike" not in listing
    assert "missing_field" in hub("deadletters", "list", "--limit", "1000")


def _send_events(bootstrap: str, referral_id: str, events: list[bytes]) -> None:
    asyncio.run(send(bootstrap, REFERRAL_EVENTS, referral_id, events))


def test_list_shows_the_status_every_service_folds_from_the_log(stack_env: dict[str, str]) -> None:
    """Referrals in three states, published as intake, routing and casework would; a
    routing offer that lands after the cancellation has no effect on the listing."""
    bootstrap = stack_env["HUB_KAFKA_BOOTSTRAP"]
    worked, offered, cancelled = (str(uuid.uuid4()) for _ in range(3))
    for rid in (worked, offered, cancelled):
        ref = f"CUM/LIST/{rid[:8].upper()}"
        _send_events(bootstrap, rid, [referral_event("ReferralOpened", rid, intelligence_ref=ref)])
    _send_events(bootstrap, worked, worked_and_closed(worked))
    _send_events(bootstrap, offered, worked_and_closed(offered)[:1])
    _send_events(
        bootstrap,
        cancelled,
        [
            referral_event("ReferralCancelled", cancelled),
            referral_event("ReferralRouted", cancelled),
        ],
    )
    rows = {
        r["referral_id"]: r
        for r in json.loads(hub("referrals", "list", "--json", "--limit", "100000"))
    }
    assert rows[worked]["status"] == "closed"
    assert rows[worked]["outcome"] == "engaged_with_support"
    assert (rows[offered]["status"], rows[offered]["agency"]) == (
        "awaiting_acceptance",
        "twc-barrow",
    )
    assert rows[cancelled]["status"] == "cancelled"
    assert rows[cancelled]["agency"] is None, "the late offer did not resurrect it"
    table = hub("referrals", "list", "--limit", "100000")
    assert "closed" in _row_of(table, worked)
    assert "awaiting_acceptance" in _row_of(table, offered)
    assert "cancelled" in _row_of(table, cancelled)
    assert "Marsh" not in table, "no names"
    assert "Harbour View" not in table, "no addresses"
    timeline = hub("referrals", "show", cancelled)
    routed = [line for line in timeline.splitlines() if "ReferralRouted" in line]
    assert len(routed) == 1
    assert "no effect: referral_cancelled" in routed[0]
