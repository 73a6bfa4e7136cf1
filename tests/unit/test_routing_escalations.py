"""The ways out of an escalation: a police coordinator's direction to a named agency, and
routing's own retries of escalations for lack of capacity or coverage when a place frees
up or a new directory version arrives. The other escalations wait for the coordinator."""

from datetime import timedelta
from typing import Any

import pytest
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import EscalationReason, ReferralEscalated, ReferralRouted

from services.routing import domain
from tests.support.directory import cumbria_directory
from tests.support.routing_events import AT
from tests.support.routing_view import ISA, ReferralView

pytestmark = pytest.mark.unit
S = ReferralStatus
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"
FULL = {SOUTH: 30, TWC_BARROW: 40, TWC_CARLISLE: 25}
"""Every agency at its capacity in the Cumbria directory."""


def _directory(version: int = 3, **overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(version, **overrides))


def _without_carlisle(version: int = 3) -> DirectoryPublished:
    agencies = [a for a in cumbria_directory(version)["agencies"] if a["code"] != TWC_CARLISLE]
    return _directory(version, agencies=agencies)


def _escalated(district: str = "LA14", directory: DirectoryPublished | None = None) -> ReferralView:
    """A referral escalated because every suitable agency was full (or none covers it)."""
    view = ReferralView.opened(district, directory or _directory())
    assert isinstance(view.decide(FULL), ReferralEscalated)
    assert view.land() is None
    assert view.current.status is S.ESCALATED
    return view


def test_a_direction_offers_the_referral_to_that_agency_over_its_capacity() -> None:
    view = _escalated()
    assert view.receive(view.about.directed(TWC_BARROW)) is None
    event = view.decide(FULL)
    assert isinstance(event, ReferralRouted)
    assert (event.agency, event.area) == (TWC_BARROW, "barrow")
    assert event.due_by == AT + timedelta(hours=48)
    assert event.directory_version == 3
    assert view.current.holding_agency == TWC_BARROW, "counted against the agency"
    assert view.land() is None
    assert view.current.status is S.AWAITING_ACCEPTANCE


def test_a_direction_to_an_agency_the_directory_lacks_or_has_inactive_escalates_again() -> None:
    inactive = [{**a, "active": a["code"] != TWC_BARROW} for a in cumbria_directory(3)["agencies"]]
    for directory, agency in (
        (_directory(), "no-such-agency"),
        (_directory(agencies=inactive), TWC_BARROW),
    ):
        view = _escalated(directory=directory)
        assert view.receive(view.about.directed(agency)) is None
        event = view.decide()
        assert isinstance(event, ReferralEscalated)
        assert (event.reason, event.area) == (EscalationReason.NO_AGENCY_COVERS_AREA, "barrow")
        assert view.land() is None
        assert view.decide() is None, "escalated again, once"


def test_a_direction_landing_before_routings_retry_wins() -> None:
    view = _escalated()
    retried = view.decide({SOUTH: 0, TWC_BARROW: 40}, retry=True)
    assert isinstance(retried, ReferralRouted)
    assert retried.agency == SOUTH
    # The coordinator's direction reaches the log before routing's retry.
    assert view.receive(view.about.directed(TWC_BARROW)) is None
    assert view.current.directed_to == TWC_BARROW, "the retry is void behind the direction"
    directed = view.decide()
    assert isinstance(directed, ReferralRouted)
    assert directed.agency == TWC_BARROW
    refused = view.land()
    assert refused is not None
    assert refused.code == "not_directed_agency"
    assert view.land() is None
    assert (view.current.agency, view.current.holding_agency) == (TWC_BARROW, TWC_BARROW)


def test_a_direction_landing_before_routings_escalation_is_still_followed() -> None:
    view = ReferralView.opened("LA14", _directory())
    assert isinstance(view.decide(FULL), ReferralEscalated)
    assert view.receive(view.about.directed(SOUTH)) is None
    directed = view.decide(FULL)
    assert isinstance(directed, ReferralRouted)
    assert directed.agency == SOUTH
    assert view.land() is None  # the escalation: valid after the direction
    assert view.land() is None  # the offer: valid from escalated
    assert (view.current.status, view.current.agency) == (S.AWAITING_ACCEPTANCE, SOUTH)


def test_escalations_for_capacity_take_a_freed_place_in_the_order_they_were_escalated() -> None:
    first, second = _escalated(), _escalated()
    assert first.decide(FULL, retry=True) is None, "still no room: it keeps waiting"
    room_at_south = {**FULL, SOUTH: 29}
    assert second.decide(room_at_south) is None, "only retried when a place frees"
    decisions = domain.settle(
        [first.state, second.state],
        _directory(),
        room_at_south,
        now=AT,
        isa_version=ISA,
        freed=frozenset({SOUTH}),
    )
    assert [(d.state.referral_id, domain.offered_to(d.event)) for d in decisions] == [
        (first.state.referral_id, SOUTH)
    ]
    first.keep(decisions[0].event)
    assert first.land() is None
    assert (first.current.status, first.current.holding_agency) == (
        S.AWAITING_ACCEPTANCE,
        SOUTH,
    )


def test_an_uncovered_escalation_is_routed_by_a_directory_that_covers_it() -> None:
    view = _escalated("CA1", _without_carlisle())
    assert view.current.escalation_reason == "no_agency_covers_area"
    assert view.state.awaits_retry
    (decision,) = domain.settle([view.state], _directory(4), {}, now=AT, isa_version=ISA)
    assert isinstance(decision.event, ReferralRouted)
    assert (decision.event.agency, decision.event.directory_version) == (TWC_CARLISLE, 4)


def test_escalations_after_declines_or_missed_deadlines_are_left_to_the_coordinator() -> None:
    declined = ReferralView.opened("LA14", _directory())
    declined.decide()
    declined.land()
    for agency in (SOUTH, TWC_BARROW):
        declined.step(declined.about.declined(agency))
    assert declined.current.escalation_reason == "all_agencies_declined"
    missed = ReferralView.opened("LA9", _directory())  # Kendal: one agency only
    missed.decide()
    missed.land()
    due_by = missed.current.due_by
    assert due_by is not None
    missed.step(missed.about.expired(SOUTH, due_by))
    assert missed.current.escalation_reason == "acceptance_deadline_missed"
    for view in (declined, missed):
        assert not view.state.awaits_retry
        assert domain.settle([view.state], _directory(5), {}, now=AT, isa_version=ISA) == []
