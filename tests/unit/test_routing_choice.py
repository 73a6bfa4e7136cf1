"""routing's choice of agency: which one, in what order, and why none."""

from typing import Any

import pytest
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import EscalationReason, RerouteCause

from services.routing.choice import choose_agency
from tests.support.directory import cumbria_directory

pytestmark = pytest.mark.unit
SOUTH, TWC_BARROW = "cumbria-recovery-south", "twc-barrow"


def _directory(**overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(3, **overrides))


def _with_agencies(**changes: dict[str, Any]) -> DirectoryPublished:
    """The Cumbria directory with some agencies' fields changed, by agency code."""
    agencies = [
        {**a, **changes.get(a["code"].replace("-", "_"), {})}
        for a in cumbria_directory(1)["agencies"]
    ]
    return _directory(agencies=agencies)


def test_equally_loaded_agencies_are_chosen_by_code() -> None:
    assert choose_agency(_directory(), "LA14", (), {}) == _directory().agency(SOUTH)


def test_the_least_loaded_agency_relative_to_its_capacity_is_chosen() -> None:
    # twc-barrow: 20 of 40 (0.5) is busier than cumbria-recovery-south: 10 of 30 (0.33)...
    chosen = choose_agency(_directory(), "LA14", (), {TWC_BARROW: 20, SOUTH: 10})
    assert chosen == _directory().agency(SOUTH)
    # ...but 18 of 30 (0.6) is busier than 20 of 40.
    chosen = choose_agency(_directory(), "LA14", (), {TWC_BARROW: 20, SOUTH: 18})
    assert chosen == _directory().agency(TWC_BARROW)


def test_an_agency_at_capacity_is_skipped() -> None:
    chosen = choose_agency(_directory(), "LA13", (), {SOUTH: 30})
    assert chosen == _directory().agency(TWC_BARROW)


def test_every_agency_at_capacity_escalates_for_capacity() -> None:
    counts = {TWC_BARROW: 40, SOUTH: 30}
    assert choose_agency(_directory(), "LA14", (), counts) is (
        EscalationReason.NO_AGENCY_WITH_CAPACITY
    )


def test_an_agency_with_no_capacity_at_all_is_never_chosen() -> None:
    directory = _with_agencies(cumbria_recovery_south={"capacity": 0})
    assert choose_agency(directory, "LA9", (), {}) is (EscalationReason.NO_AGENCY_WITH_CAPACITY)


def test_an_agency_already_tried_is_not_offered_the_referral_again() -> None:
    chosen = choose_agency(_directory(), "LA14", [SOUTH], {})
    assert chosen == _directory().agency(TWC_BARROW)


def test_inactive_agencies_and_agencies_without_visits_are_not_suitable() -> None:
    directory = _with_agencies(
        cumbria_recovery_south={"active": False}, twc_barrow={"services": ["housing_support"]}
    )
    assert choose_agency(directory, "LA14", (), {}) is (EscalationReason.NO_AGENCY_COVERS_AREA)


def test_a_district_of_no_area_escalates_as_uncovered() -> None:
    assert choose_agency(_directory(), "LA22", (), {}) is (EscalationReason.NO_AGENCY_COVERS_AREA)


def test_all_agencies_tried_escalates_as_declined_or_as_missed_deadline() -> None:
    tried = [SOUTH, TWC_BARROW]
    assert choose_agency(_directory(), "LA14", tried, {}) is (
        EscalationReason.ALL_AGENCIES_DECLINED
    )
    missed = choose_agency(
        _directory(), "LA14", tried, {}, cause=RerouteCause.ACCEPTANCE_DEADLINE_MISSED
    )
    assert missed is EscalationReason.ACCEPTANCE_DEADLINE_MISSED
