"""Faults under load on the three-node cluster: whatever breaks, no referral is lost and no
effect happens twice. How long progress paused and how long recovery took are measured and
printed (docs/reliability.md), never asserted."""

import pytest

from tests.chaos import report, scenarios
from tests.chaos.conftest import ChaosRun

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.key)
async def test_no_referral_is_lost_or_duplicated(
    chaos_run: ChaosRun, scenario: scenarios.Scenario
) -> None:
    figures = await scenarios.run(chaos_run.chaos, chaos_run.recorder, scenario, chaos_run.rate)
    report.RESULTS.append(figures)

    assert figures.sent > 0
    assert (figures.lost, figures.duplicated) == (0, 0), figures.detail
