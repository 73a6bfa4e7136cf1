"""Fixtures shared by the contract tests: fresh, mutable copies of the golden samples."""

import json
from typing import Any

import pytest
from referral_schemas import load_sample


@pytest.fixture
def submitted() -> dict[str, Any]:
    """The IntelligenceSubmitted sample as a dict, safe to mutate."""
    event: dict[str, Any] = json.loads(load_sample("IntelligenceSubmitted.v1"))
    return event


@pytest.fixture
def opened() -> dict[str, Any]:
    """The ReferralOpened sample as a dict, safe to mutate."""
    event: dict[str, Any] = json.loads(load_sample("ReferralOpened.v2"))
    return event
