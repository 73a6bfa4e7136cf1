"""The insights story (tests/support/insights_story.py) is what its docstring says."""

import uuid
from datetime import timedelta

import pytest

from services.insights import domain
from tests.support.insights_events import data_of
from tests.support.insights_story import programme_story

pytestmark = pytest.mark.unit


def test_the_story_s_referrals_are_reached_after_10_24_and_4_hours() -> None:
    facts: dict[uuid.UUID, domain.ReferralFacts] = {}
    for message in programme_story("barrow", "LA14"):
        if message.topic != "referral.events":
            continue
        data = data_of(message)
        current = facts.get(data.referral_id, domain.ReferralFacts(data.referral_id))
        facts[data.referral_id] = domain.decide(current, data, event_id=uuid.uuid4()).facts
    waits = [
        f.first_contact_at - f.opened_at
        for f in facts.values()
        if f.first_contact_at is not None and f.opened_at is not None
    ]
    assert waits == [timedelta(hours=10), timedelta(hours=24), timedelta(hours=4)]
    assert [f.engaged for f in facts.values()] == [True, False, None, False]
    assert {f.area for f in facts.values()} == {"barrow"}
