"""routing's fold and decisions for one referral: it offers, reroutes on casework's decline
or expiry (never on its own deadline proposal), escalates, and folds its own events at
their place in the log, so a decision the log refuses has no effect, on capacity neither."""

from datetime import timedelta
from typing import Any

import pytest
from referral_schemas.directory_v1 import DirectoryPublished
from referral_schemas.lifecycle import Refusal
from referral_schemas.lifecycle_rules import ReferralStatus
from referral_schemas.lifecycle_v1 import (
    EscalationReason,
    ReferralEscalated,
    ReferralRerouted,
    ReferralRouted,
    RerouteCause,
)

from services.routing import domain
from tests.support.directory import cumbria_directory
from tests.support.routing_events import AT
from tests.support.routing_view import ISA, ReferralView

pytestmark = pytest.mark.unit
S = ReferralStatus
SOUTH, TWC_BARROW, TWC_CARLISLE = "cumbria-recovery-south", "twc-barrow", "twc-carlisle"


def _directory(version: int = 3, acceptance: str = "PT48H", **overrides: Any) -> DirectoryPublished:
    return DirectoryPublished.model_validate(cumbria_directory(version, acceptance, **overrides))


def _offered(district: str = "LA14", directory: DirectoryPublished | None = None) -> ReferralView:
    """A referral routing offered to an agency, the offer seen on the log."""
    view = ReferralView.opened(district, directory or _directory())
    assert isinstance(view.decide(), ReferralRouted)
    assert view.land() is None
    return view


def test_routing_sets_the_agencys_acceptance_deadline() -> None:
    view = ReferralView.opened("CA2", _directory(version=7, acceptance="PT36H"))
    event = view.decide()
    assert isinstance(event, ReferralRouted)
    assert (event.agency, event.area) == (TWC_CARLISLE, "carlisle")
    assert event.due_by == AT + timedelta(hours=36)
    assert (event.directory_version, event.isa_version) == (7, ISA)
    # Counted and timed at once, before the event comes back through the log...
    assert view.current.holding_agency == TWC_CARLISLE
    assert domain.deadline(view.current) == (TWC_CARLISLE, event.due_by)
    assert view.decide() is None, "routing never decides twice"
    # ...and the same once it has.
    assert view.land() is None
    assert (view.state.pending, view.state.lifecycle) == ((), view.current)
    assert view.current.status is S.AWAITING_ACCEPTANCE


def test_an_uncovered_district_is_escalated_without_an_area() -> None:
    view = ReferralView.opened("LA22", _directory())
    assert view.decide() == ReferralEscalated(
        referral_id=view.state.referral_id,
        reason=EscalationReason.NO_AGENCY_COVERS_AREA,
        area=None,
        escalated_at=AT,
    )
    assert (view.current.status, view.current.holding_agency) == (S.ESCALATED, None)


def test_a_referral_opened_before_any_directory_waits_for_one() -> None:
    view = ReferralView.opened("LA14", None)
    assert view.decide() is None
    assert view.current.status is S.OPENED


def test_waiting_referrals_fill_capacity_in_turn() -> None:
    directory = _directory(capacity=1)
    waiting = [ReferralView.opened("LA14", None).state for _ in range(3)]
    decisions = domain.settle(waiting, directory, {}, now=AT, isa_version=ISA)
    assert [domain.offered_to(d.event) for d in decisions] == [SOUTH, TWC_BARROW, None]
    last = decisions[-1].event
    assert isinstance(last, ReferralEscalated)
    assert last.reason is EscalationReason.NO_AGENCY_WITH_CAPACITY


def test_a_decline_reroutes_to_the_next_agency() -> None:
    view = _offered()
    event = view.step(view.about.declined(SOUTH), {SOUTH: 1})
    assert isinstance(event, ReferralRerouted)
    assert (event.from_agency, event.to_agency, event.cause) == (
        SOUTH,
        TWC_BARROW,
        RerouteCause.DECLINED,
    )
    assert view.current.tried == (SOUTH, TWC_BARROW)


def test_a_decline_by_the_last_agency_escalates_as_all_declined() -> None:
    view = _offered()
    view.step(view.about.declined(SOUTH))
    event = view.step(view.about.declined(TWC_BARROW))
    assert isinstance(event, ReferralEscalated)
    assert (event.reason, event.area) == (EscalationReason.ALL_AGENCIES_DECLINED, "barrow")


def test_expired_offers_reroute_then_escalate() -> None:
    view = _offered()
    first_due = view.current.due_by
    assert first_due is not None
    second = view.step(view.about.expired(SOUTH, first_due))
    assert isinstance(second, ReferralRerouted)
    assert second.cause is RerouteCause.ACCEPTANCE_DEADLINE_MISSED
    third = view.step(view.about.expired(TWC_BARROW, second.due_by))
    assert isinstance(third, ReferralEscalated)
    assert third.reason is EscalationReason.ACCEPTANCE_DEADLINE_MISSED


def test_a_deadline_breach_alone_reroutes_nothing() -> None:
    view = _offered()
    due_by = view.current.due_by
    assert due_by is not None
    # The timer's SlaBreached is only a proposal to casework: routing does not even take it in.
    assert "SlaBreached" not in {model.EVENT_TYPE for model in domain.FOLDED}
    assert view.receive(view.about.breached(SOUTH, due_by)) is None
    assert view.decide() is None
    assert (view.current.status, view.current.agency) == (S.AWAITING_ACCEPTANCE, SOUTH)
    # Casework's OfferExpired, its answer, is what moves the referral.
    assert isinstance(view.step(view.about.expired(SOUTH, due_by)), ReferralRerouted)


def test_stale_declines_and_expiries_have_no_effect() -> None:
    view = _offered()
    due_by = view.current.due_by
    assert due_by is not None
    view.step(view.about.declined(SOUTH))
    # The first agency's expiry and decline arrive after the referral moved on.
    assert view.receive(view.about.expired(SOUTH, due_by)) == Refusal(
        "wrong_agency", "the referral is not with that agency"
    )
    assert isinstance(view.receive(view.about.declined(SOUTH)), Refusal)
    assert view.decide() is None
    assert (view.current.status, view.current.agency) == (S.AWAITING_ACCEPTANCE, TWC_BARROW)


def test_acceptance_stops_the_clock_and_a_later_expiry_has_no_effect() -> None:
    view = _offered()
    due_by = view.current.due_by
    assert due_by is not None
    assert view.step(view.about.accepted(SOUTH)) is None
    assert (view.current.status, view.current.holding_agency) == (S.ACCEPTED, SOUTH)
    assert domain.deadline(view.current) is None
    assert isinstance(view.receive(view.about.expired(SOUTH, due_by)), Refusal)
    assert view.current.status is S.ACCEPTED


def test_a_routed_event_landing_after_a_cancellation_leaves_it_cancelled_and_uncounted() -> None:
    view = ReferralView.opened("LA14", _directory())
    assert isinstance(view.decide(), ReferralRouted)
    assert view.current.holding_agency == SOUTH
    # Casework's cancellation reaches the log before routing's ReferralRouted.
    assert view.receive(view.about.cancelled()) is None
    assert view.current.status is S.CANCELLED
    assert view.current.holding_agency is None, "the place is given back at once"
    assert domain.deadline(view.current) is None
    refused = view.land()
    assert isinstance(refused, Refusal)
    assert refused.code == "referral_cancelled"
    assert view.state.pending == ()
    assert (view.current.status, view.current.holding_agency) == (S.CANCELLED, None)
    assert view.decide() is None


def test_a_hold_pauses_the_deadline_and_its_lifting_resumes_the_time_left() -> None:
    view = _offered()
    due_by = view.current.due_by
    assert due_by is not None
    view.step(view.about.held(AT + timedelta(hours=10)))
    assert domain.deadline(view.current) is None, "no timer runs while held"
    assert view.current.holding_agency == SOUTH
    resumed_at = AT + timedelta(hours=30)
    view.step(view.about.resumed(resumed_at))
    remaining = due_by - (AT + timedelta(hours=10))
    assert domain.deadline(view.current) == (SOUTH, resumed_at + remaining)


def test_closing_a_worked_referral_gives_its_place_back() -> None:
    view = _offered()
    for event in (view.about.accepted(SOUTH), view.about.completed(SOUTH)):
        view.step(event)
    before = view.current
    assert before.holding_agency == SOUTH
    view.step(view.about.closed(SOUTH))
    assert (view.current.status, view.current.holding_agency) == (S.CLOSED, None)
    assert domain.released(before, view.current) == SOUTH
