"""The insights event builders (tests/support/insights_events.py) make valid messages."""

import uuid

import pytest
from referral_schemas import Outcome

from tests.support.insights_events import (
    FORCE,
    at,
    closed,
    data_of,
    directory,
    intelligence,
    opened,
    routed,
    withdrawal,
)

pytestmark = pytest.mark.unit


def test_builders_make_valid_messages_keyed_as_their_producers_key_them() -> None:
    rid = uuid.uuid4()
    when = at("2024-01-05 10:00")
    for message in (
        opened(rid, when),
        routed(rid, "barrow", when),
        closed(rid, when, Outcome.SIGNPOSTED),
    ):
        assert message.key == str(rid)
        assert data_of(message).referral_id == rid
    intel = intelligence("QA1", "DANNY", when)
    assert intel.key == f"{FORCE}:{data_of(intel).intelligence_ref}"
    assert (
        data_of(withdrawal(intel, "discredited")).intelligence_ref
        == data_of(intel).intelligence_ref
    )
    assert data_of(directory(3, {"t-a": ["QA1"]})).area_for_district("QA1").code == "t-a"
