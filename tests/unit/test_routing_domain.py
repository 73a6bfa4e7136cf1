"""routing's pure decisions: which agency, in what order, and why none."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from referral_schemas import ReferralOpened
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_v1 import (
    DeclineReason,
    EscalationReason,
    ReferralAccepted,
    ReferralDeclined,
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
    SlaBreached,
)

from services.routing import domain
from services.routing.domain import RoutingState, Status
from tests.support.directory import cumbria_directory
from tests.support.opened import opened_in

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ISA = "cumbria-1clic-isa-v1"
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"


def _directory(version: int = 3, acceptance: str = "PT48H", **overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(version, acceptance, **overrides))


def _with_agencies(**changes: dict[str, Any]) -> DirectoryPublished:
    """The Cumbria directory with some agencies' fields changed, by agency code."""
    agencies = [
        {**a, **changes.get(a["code"].replace("-", "_"), {})}
        for a in cumbria_directory(1)["agencies"]
    ]
    return _directory(agencies=agencies)


def _opened(district: str = "LA14") -> ReferralOpened:
    return opened_in(district)


def _route(
    district: str = "LA14",
    directory: DirectoryPublished | None = None,
    counts: dict[str, int] | None = None,
) -> domain.Decision:
    return domain.open_referral(
        _opened(district),
        uuid.uuid4(),
        directory or _directory(),
        counts or {},
        now=NOW,
        isa_version=ISA,
    )


def _declined(state: RoutingState, agency: str | None = None) -> ReferralDeclined:
    return ReferralDeclined(
        referral_id=state.referral_id,
        agency=agency or state.agency or "",
        reason=DeclineReason.NO_CAPACITY,
        declined_at=NOW,
        by="worker-1",
    )


def _breached(state: RoutingState) -> SlaBreached:
    assert state.agency is not None
    assert state.due_by is not None
    return SlaBreached(
        referral_id=state.referral_id, agency=state.agency, due_by=state.due_by, breached_at=NOW
    )


def test_equally_loaded_agencies_are_chosen_by_code() -> None:
    assert domain.choose_agency(_directory(), "LA14", (), {}) == _directory().agency(SOUTH)


def test_the_least_loaded_agency_relative_to_its_capacity_is_chosen() -> None:
    # twc-barrow: 20 of 40 (0.5) is busier than cumbria-recovery-south: 10 of 30 (0.33)...
    chosen = domain.choose_agency(_directory(), "LA14", (), {TWC_BARROW: 20, SOUTH: 10})
    assert chosen == _directory().agency(SOUTH)
    # ...but 18 of 30 (0.6) is busier than 20 of 40.
    chosen = domain.choose_agency(_directory(), "LA14", (), {TWC_BARROW: 20, SOUTH: 18})
    assert chosen == _directory().agency(TWC_BARROW)


def test_an_agency_at_capacity_is_skipped() -> None:
    chosen = domain.choose_agency(_directory(), "LA13", (), {SOUTH: 30})
    assert chosen == _directory().agency(TWC_BARROW)


def test_every_agency_at_capacity_escalates_for_capacity() -> None:
    counts = {TWC_BARROW: 40, SOUTH: 30}
    assert domain.choose_agency(_directory(), "LA14", (), counts) is (
        EscalationReason.NO_AGENCY_WITH_CAPACITY
    )


def test_an_agency_with_no_capacity_at_all_is_never_chosen() -> None:
    directory = _with_agencies(cumbria_recovery_south={"capacity": 0})
    assert domain.choose_agency(directory, "LA9", (), {}) is (
        EscalationReason.NO_AGENCY_WITH_CAPACITY
    )


def test_an_agency_already_tried_is_not_offered_the_referral_again() -> None:
    chosen = domain.choose_agency(_directory(), "LA14", [SOUTH], {})
    assert chosen == _directory().agency(TWC_BARROW)


def test_inactive_agencies_and_agencies_without_visits_are_not_suitable() -> None:
    directory = _with_agencies(
        cumbria_recovery_south={"active": False}, twc_barrow={"services": ["housing_support"]}
    )
    assert domain.choose_agency(directory, "LA14", (), {}) is (
        EscalationReason.NO_AGENCY_COVERS_AREA
    )


def test_a_district_of_no_area_escalates_as_uncovered() -> None:
    assert domain.choose_agency(_directory(), "LA22", (), {}) is (
        EscalationReason.NO_AGENCY_COVERS_AREA
    )


def test_all_agencies_tried_escalates_as_declined_or_as_missed_deadline() -> None:
    tried = [SOUTH, TWC_BARROW]
    assert domain.choose_agency(_directory(), "LA14", tried, {}) is (
        EscalationReason.ALL_AGENCIES_DECLINED
    )
    missed = domain.choose_agency(
        _directory(), "LA14", tried, {}, cause=RerouteCause.ACCEPTANCE_DEADLINE_MISSED
    )
    assert missed is EscalationReason.ACCEPTANCE_DEADLINE_MISSED


def test_routing_sets_the_agencys_acceptance_deadline() -> None:
    decision = _route("CA2", _directory(version=7, acceptance="PT36H"))
    event = decision.event
    assert isinstance(event, ReferralRouted)
    assert (event.agency, event.area) == (TWC_CARLISLE, "carlisle")
    assert event.due_by == NOW + timedelta(hours=36)
    assert (event.directory_version, event.isa_version) == (7, ISA)
    state = decision.state
    assert (state.status, state.agency, state.tried) == (
        Status.ROUTING,
        TWC_CARLISLE,
        (TWC_CARLISLE,),
    )
    assert state.due_by == event.due_by


def test_an_uncovered_district_is_escalated_without_an_area() -> None:
    decision = _route("LA22")
    assert decision.event == ReferralEscalated(
        referral_id=decision.state.referral_id,
        reason=EscalationReason.NO_AGENCY_COVERS_AREA,
        area=None,
        escalated_at=NOW,
    )
    assert (decision.state.status, decision.state.agency) == (Status.ESCALATED, None)


def test_a_referral_opened_before_any_directory_waits_for_one() -> None:
    opened = _opened()
    decision = domain.open_referral(opened, uuid.uuid4(), None, {}, now=NOW, isa_version=ISA)
    assert decision.event is None
    assert decision.state.status is Status.AWAITING_DIRECTORY
    assert decision.state.district == "LA14"


def test_waiting_referrals_fill_capacity_in_turn() -> None:
    directory = _with_agencies(cumbria_recovery_south={"capacity": 1}, twc_barrow={"capacity": 1})
    waiting = [
        domain.open_referral(_opened(), uuid.uuid4(), None, {}, now=NOW, isa_version=ISA).state
        for _ in range(3)
    ]
    decisions = domain.route_waiting(waiting, directory, {}, now=NOW, isa_version=ISA)
    assert [d.state.agency for d in decisions] == [SOUTH, TWC_BARROW, None]
    last = decisions[-1].event
    assert isinstance(last, ReferralEscalated)
    assert last.reason is EscalationReason.NO_AGENCY_WITH_CAPACITY


def test_a_decline_reroutes_to_the_next_agency() -> None:
    first = _route().state
    decision = domain.decline(
        first, _declined(first), _directory(), {SOUTH: 1}, now=NOW, isa_version=ISA
    )
    assert decision is not None
    event = decision.event
    assert isinstance(event, ReferralRerouted)
    assert (event.from_agency, event.to_agency, event.cause) == (
        SOUTH,
        TWC_BARROW,
        RerouteCause.DECLINED,
    )
    assert decision.state.tried == (SOUTH, TWC_BARROW)


def test_a_decline_by_the_last_agency_escalates_as_all_declined() -> None:
    first = _route().state
    second = domain.decline(first, _declined(first), _directory(), {}, now=NOW, isa_version=ISA)
    assert second is not None
    third = domain.decline(
        second.state, _declined(second.state), _directory(), {}, now=NOW, isa_version=ISA
    )
    assert third is not None
    assert isinstance(third.event, ReferralEscalated)
    assert third.event.reason is EscalationReason.ALL_AGENCIES_DECLINED
    assert third.event.area == "barrow"


def test_missed_deadlines_reroute_then_escalate() -> None:
    first = _route().state
    second = domain.breach(first, _breached(first), _directory(), {}, now=NOW, isa_version=ISA)
    assert second is not None
    assert isinstance(second.event, ReferralRerouted)
    assert second.event.cause is RerouteCause.ACCEPTANCE_DEADLINE_MISSED
    third = domain.breach(
        second.state, _breached(second.state), _directory(), {}, now=NOW, isa_version=ISA
    )
    assert third is not None
    assert isinstance(third.event, ReferralEscalated)
    assert third.event.reason is EscalationReason.ACCEPTANCE_DEADLINE_MISSED


def test_stale_declines_and_breaches_change_nothing() -> None:
    first = _route().state
    rerouted = domain.decline(first, _declined(first), _directory(), {}, now=NOW, isa_version=ISA)
    assert rerouted is not None
    # The first agency's deadline fires after the referral already moved on.
    assert (
        domain.breach(rerouted.state, _breached(first), _directory(), {}, now=NOW, isa_version=ISA)
        is None
    )
    assert (
        domain.decline(rerouted.state, _declined(first), _directory(), {}, now=NOW, isa_version=ISA)
        is None
    )


def test_acceptance_stops_the_clock_and_later_breaches_are_ignored() -> None:
    routed = _route().state
    accepted = domain.accept(
        routed,
        ReferralAccepted(referral_id=routed.referral_id, agency=SOUTH, accepted_at=NOW, by="w-1"),
    )
    assert accepted is not None
    assert (accepted.state.status, accepted.state.agency) == (Status.ACCEPTED, SOUTH)
    assert accepted.event is None
    assert (
        domain.breach(accepted.state, _breached(routed), _directory(), {}, now=NOW, isa_version=ISA)
        is None
    )


def test_acceptance_by_an_agency_not_holding_the_referral_is_ignored() -> None:
    routed = _route().state
    other = ReferralAccepted(
        referral_id=routed.referral_id, agency=TWC_BARROW, accepted_at=NOW, by="w-1"
    )
    assert domain.accept(routed, other) is None


def test_cancelled_and_closed_referrals_end_once() -> None:
    routed = _route().state
    cancelled = domain.end(routed, Status.CANCELLED)
    assert cancelled is not None
    assert cancelled.state.status is Status.CANCELLED
    assert domain.end(cancelled.state, Status.CLOSED) is None
