"""routing's subscription skips the referral events it does not decide on before any
transaction; the list it skips by must agree with what ``decide`` acts on."""

from typing import Any

import pytest
from referral_schemas import SAMPLE_NAMES, load_sample, parse_event

from services.routing.directory_cache import DirectoryCache
from services.routing.handlers import DECIDED_TYPES, Step, decide
from services.runtime.clock import CausalIds, SystemClock
from services.runtime.consumer import HandlerContext
from services.runtime.dead_letter import ReceivedRecord


class NoDatabase:
    """A connection that fails the test if routing touches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"routing used the database ({name}) for an event it ignores")


def _step(sample: str) -> Step:
    envelope = parse_event(load_sample(sample))
    record = ReceivedRecord("referral.events", 0, 0, None, load_sample(sample), ())
    context = HandlerContext("routing/test", SystemClock(), CausalIds("t", envelope.id), record)
    return Step(envelope, context, "isa-test", DirectoryCache())


IGNORED = [name for name in SAMPLE_NAMES if name.split(".")[0] not in DECIDED_TYPES]


@pytest.mark.parametrize("sample", IGNORED)
async def test_events_routing_skips_are_ones_it_would_not_decide_on(sample: str) -> None:
    assert await decide(NoDatabase(), _step(sample)) is None  # type: ignore[arg-type]


def test_routing_decides_on_the_lifecycle_events_that_move_a_referral() -> None:
    assert {
        "ReferralOpened",
        "ReferralDeclined",
        "SlaBreached",
        "ReferralAccepted",
        "ReferralCancelled",
        "ReferralClosed",
    } == DECIDED_TYPES
    assert "ReferralRouted" not in DECIDED_TYPES, "routing's own output is not re-decided"
