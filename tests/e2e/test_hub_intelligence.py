"""`hub intelligence send` and `withdraw` through the real CLI, against intake, routing,
casework and feedback running as processes: the file's intelligence opens a referral (sent
twice, still one), and its withdrawal cancels it (intake asks, casework cancels), which
`hub referrals show --json` shows with each event's effect."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from services.runtime.auth import ensure_signing_keys
from tests.e2e.conftest import Spawn
from tests.e2e.lifecycle_support import directory_in_force, start_system
from tests.support.intelligence import submitted

pytestmark = pytest.mark.e2e

HUB = [sys.executable, "-m", "services.hub.main"]


def hub(*args: str) -> str:
    done = subprocess.run([*HUB, *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"hub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def referral_of(ref: str, status: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """The listed referral holding ``ref``, once it shows ``status``."""
    deadline = time.monotonic() + timeout_s
    while True:
        listing = json.loads(hub("referrals", "list", "--json", "--limit", "100000"))
        found = [r for r in listing if ref in r["intelligence_refs"]]
        if found and found[0]["status"] == status:
            assert len(found) == 1, f"{ref} opened {len(found)} referrals"
            return dict(found[0])
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} never {status}: {found}")
        time.sleep(1.0)


async def test_send_opens_a_referral_and_withdraw_cancels_it(
    bootstrap: str, spawn: Spawn, tmp_path: Path
) -> None:
    _, public_key = ensure_signing_keys(tmp_path / "keys")
    start_system(spawn, "hub-intelligence", public_key)
    await directory_in_force(bootstrap)
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    data_only = tmp_path / "intelligence.json"
    data_only.write_text(json.dumps(message["data"]), encoding="utf-8")

    said = hub("intelligence", "send", str(data_only), "--force", "cumbria")
    assert f"sent IntelligenceSubmitted cumbria:{ref}" in said
    assert "to police.intelligence" in said
    hub("intelligence", "send", str(data_only), "--force", "cumbria")  # resent: one event
    offered = referral_of(ref, "awaiting_acceptance")
    assert offered["force"] == "cumbria"

    said = hub(
        "intelligence", "withdraw", ref, "--force", "cumbria", "--reason", "submitted_in_error"
    )
    assert f"sent IntelligenceWithdrawn cumbria:{ref}" in said
    cancelled = referral_of(ref, "cancelled")
    assert cancelled["referral_id"] == offered["referral_id"]
    assert cancelled["cancel_reason"] == "intelligence_withdrawn"

    shown = json.loads(hub("referrals", "show", cancelled["referral_id"], "--json"))
    events = [
        (r["event"], r["effect"]) for r in shown["records"] if r["topic"] == "referral.events"
    ]
    assert ("ReferralOpened", "applied") in events
    assert ("ReferralCancelled", "applied") in events
    assert [e for e, _ in events].count("ReferralOpened") == 1
    assert "CancellationRequested" in [e for e, _ in events]
    assert message["data"]["subject"]["family_name"] not in json.dumps(shown), "no names"
