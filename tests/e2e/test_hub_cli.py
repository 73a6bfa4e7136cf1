"""The README's walk-through, as a newcomer runs it: `hub up`, `hub demo`,
`hub referrals list`, `hub deadletters list` — against the real stack."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HUB = [sys.executable, "-m", "services.hub.main"]
WIDE = {**os.environ, "COLUMNS": "300"}


def hub(*args: str) -> str:
    done = subprocess.run([*HUB, *args], env=WIDE, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"hub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def running_hub(stack_env: dict[str, str]) -> Iterator[None]:
    hub("up")
    try:
        yield
    finally:
        hub("stop")


def _rows_until(predicate: str, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        listing = hub("referrals", "list", "--limit", "10000")
        if predicate in listing or time.monotonic() > deadline:
            return listing
        time.sleep(0.5)


def _row_of(listing: str, ref: str) -> str:
    rows = [line for line in listing.splitlines() if ref in line]
    assert len(rows) == 1, f"{ref} should be on exactly one row:\n{listing}"
    return rows[0]


def test_up_demo_and_list_show_the_demo_referrals(running_hub: None, tmp_path: Path) -> None:
    status = hub("status")
    assert "intake" in status
    assert "running" in status
    assert "outbox backlog" in status, "hub status shows each service's backlog and lag"
    sent = hub("demo")
    assert "Published 10 messages" in sent
    listing = _rows_until("CUM/DEMO/007")
    for ref in ("CUM/DEMO/001", "CUM/DEMO/002", "CUM/DEMO/003", "CUM/DEMO/004", "CUM/DEMO/005"):
        assert "open" in _row_of(listing, ref)
    # More intelligence about Jordan Pike joined his referral rather than opening another.
    assert "CUM/DEMO/007" in _row_of(listing, "CUM/DEMO/001")
    # The resent CUM/DEMO/003 is still one referral; the withdrawn CUM/DEMO/006 is cancelled.
    assert _row_of(listing, "CUM/DEMO/003").count("CUM/DEMO/003") == 1
    assert "cancelled" in _row_of(listing, "CUM/DEMO/006")
    assert "CUM/DEMO/008" not in listing, "the invalid message opened nothing"
    # Names never appear in the operator's listing.
    assert "Pike" not in listing
    assert "missing_field" in hub("deadletters", "list", "--limit", "1000")
