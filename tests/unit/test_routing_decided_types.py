"""routing's subscription skips the referral events it does not take in before any
transaction; the list it skips by must agree with what its handler folds."""

from typing import Any

import pytest
from referral_schemas import SAMPLE_NAMES, load_sample, parse_event
from referral_schemas.lifecycle_rules import RULES

from services.routing.directory_cache import DirectoryCache
from services.routing.effects import Step
from services.routing.handlers import FOLDED_TYPES, on_referral_event
from services.runtime.clock import CausalIds, SystemClock
from services.runtime.consumer import HandlerContext
from services.runtime.dead_letter import ReceivedRecord


class NoStore:
    """A store that fails the test if routing touches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"routing used its store ({name}) for an event it ignores")


def _step(sample: str) -> Step:
    envelope = parse_event(load_sample(sample))
    record = ReceivedRecord("referral.events", 0, 0, None, load_sample(sample), ())
    context = HandlerContext("routing/test", SystemClock(), CausalIds("t", envelope.id), record)
    return Step(envelope, context, "isa-test", DirectoryCache())


IGNORED = [name for name in SAMPLE_NAMES if name.split(".")[0] not in FOLDED_TYPES]


@pytest.mark.parametrize("sample", IGNORED)
async def test_events_routing_skips_are_ones_its_handler_would_not_take_in(sample: str) -> None:
    assert await on_referral_event(NoStore(), _step(sample)) == []


def test_routing_folds_every_event_that_moves_a_referral_its_own_included() -> None:
    assert {
        "ReferralOpened",
        "ReferralAmended",
        "ReferralRouted",
        "ReferralRerouted",
        "ReferralEscalated",
        "OfferExpired",
        "ReferralDeclined",
        "ReferralAccepted",
        "ReferralCompleted",
        "ReferralClosed",
        "ReferralHeld",
        "ReferralResumed",
        "ReferralCancelled",
        "ReferralDirected",
        "EscalationClosed",
    } == FOLDED_TYPES
    assert "SlaBreached" not in FOLDED_TYPES, "a deadline proposal moves nothing by itself"


def test_every_event_that_changes_a_referrals_status_is_folded() -> None:
    moving = {event_type for event_type, rule in RULES.items() if rule.leads_to is not None}
    assert moving <= FOLDED_TYPES
