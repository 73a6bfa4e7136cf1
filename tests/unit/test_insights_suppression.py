"""Small-number suppression of one row of figures: counts from 1 to 4 withheld, and every
figure from which such a count (or the difference of two counts) could be worked out."""

from dataclasses import replace
from itertools import product
from typing import Any

import pytest

from services.insights.figures import OUTCOME_CODES, FigureRow
from services.insights.suppression import THRESHOLD, Withheld, exact, suppress

pytestmark = pytest.mark.unit


def row(**figures: Any) -> FigureRow:
    outcomes = dict.fromkeys(OUTCOME_CODES, 0) | figures.pop("outcomes", {})
    return FigureRow("barrow", "Barrow-in-Furness", "2024-03", outcomes=outcomes, **figures)


BIG = row(
    referrals_opened=40,
    visits_completed=30,
    referrals_contacted=20,
    median_hours_to_first_contact=12.5,
    engagement_known=20,
    engaged=10,
    engagement_rate=0.5,
    referrals_cancelled=6,
    active_county_lines=2,
    outcomes={"engaged_with_support": 7},
)


def test_large_counts_and_zeros_are_shown_as_they_are() -> None:
    shown = suppress(BIG)
    assert shown.withheld == {}
    assert vars(shown) == vars(exact(BIG))
    empty = suppress(row())
    assert empty.withheld == {}
    assert (empty.referrals_opened, empty.median_hours_to_first_contact) == (0, None)
    assert (empty.engagement_rate, empty.outcomes["signposted"]) == (None, 0)


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_a_count_from_1_to_4_is_withheld_as_fewer_than_5(count: int) -> None:
    shown = suppress(replace(BIG, visits_completed=count, referrals_cancelled=count))
    assert (shown.visits_completed, shown.referrals_cancelled) == (None, None)
    assert shown.withheld == {
        "visits_completed": Withheld.FEWER_THAN_5,
        "referrals_cancelled": Withheld.FEWER_THAN_5,
    }
    five = suppress(replace(BIG, visits_completed=THRESHOLD))
    assert five.visits_completed == 5


def test_an_outcome_from_1_to_4_is_withheld_by_its_code() -> None:
    shown = suppress(replace(BIG, outcomes=BIG.outcomes | {"signposted": 1}))
    assert shown.outcomes["signposted"] is None
    assert shown.outcomes["engaged_with_support"] == 7
    assert shown.withheld == {"outcomes.signposted": Withheld.FEWER_THAN_5}


def test_one_referral_in_a_month_shows_nothing_that_counts_it() -> None:
    """The finding: "shows counts of 1"."""
    one = row(
        referrals_opened=1,
        referrals_contacted=1,
        median_hours_to_first_contact=3.0,
        engagement_known=1,
        engaged=1,
        engagement_rate=1.0,
        visits_completed=1,
        outcomes={"engaged_with_support": 1},
    )
    shown = suppress(one)
    assert shown.referrals_opened is None
    assert shown.median_hours_to_first_contact is None
    assert shown.engagement_rate is None
    assert shown.withheld["median_hours_to_first_contact"] is Withheld.FROM_FEWER_THAN_5
    assert shown.withheld["engagement_rate"] is Withheld.FROM_FEWER_THAN_5
    assert set(shown.withheld) == {
        "referrals_opened",
        "referrals_contacted",
        "median_hours_to_first_contact",
        "engagement_known",
        "engaged",
        "engagement_rate",
        "visits_completed",
        "outcomes.engaged_with_support",
    }


def test_a_part_whose_rest_is_1_to_4_is_withheld_so_the_rest_cannot_be_computed() -> None:
    """12 opened and 10 contacted would say '2 were never reached'."""
    shown = suppress(
        replace(BIG, referrals_opened=12, referrals_contacted=10, engagement_known=8, engaged=5)
    )
    assert shown.referrals_opened == 12
    assert shown.referrals_contacted is None
    assert shown.withheld["referrals_contacted"] is Withheld.REVEALS_SMALL_COUNT
    # 8 of 12 have a verdict (4 have none): withheld; 5 of 8 engaged (3 not): withheld.
    assert shown.withheld["engagement_known"] is Withheld.REVEALS_SMALL_COUNT
    assert shown.withheld["engaged"] is Withheld.REVEALS_SMALL_COUNT
    # The median of 10 referrals says nothing about how many: shown.
    assert shown.median_hours_to_first_contact == BIG.median_hours_to_first_contact


def test_the_rate_is_withheld_when_it_would_give_back_a_withheld_count() -> None:
    """engaged = rate x known: with known shown, the rate must go when engaged goes."""
    shown = suppress(replace(BIG, engagement_known=20, engaged=3, engagement_rate=0.15))
    assert (shown.engagement_known, shown.engaged, shown.engagement_rate) == (20, None, None)
    assert shown.withheld["engaged"] is Withheld.FEWER_THAN_5
    assert shown.withheld["engagement_rate"] is Withheld.REVEALS_SMALL_COUNT


_PARTS = (("contacted", "opened"), ("known", "opened"), ("engaged", "known"))


def _cells(figures: FigureRow) -> dict[str, int | None]:
    shown = suppress(figures)
    return {
        "opened": shown.referrals_opened,
        "contacted": shown.referrals_contacted,
        "known": shown.engagement_known,
        "engaged": shown.engaged,
    }


def test_no_count_a_reader_can_compute_from_one_row_is_from_1_to_4() -> None:
    """Whatever the counts (every combination up to 12 referrals), every count a reader can
    compute from the shown figures of one row (a shown total minus its shown part, or rate
    x known) is 0 or at least 5."""
    for opened, contacted, known in product(range(13), repeat=3):
        if contacted > opened or known > opened:
            continue
        for engaged in range(known + 1):
            rate = round(engaged / known, 4) if known else None
            figures = row(
                referrals_opened=opened,
                referrals_contacted=contacted,
                engagement_known=known,
                engaged=engaged,
                engagement_rate=rate,
            )
            cells = _cells(figures)
            for value in cells.values():
                assert value is None or value == 0 or value >= THRESHOLD
            for part, total in _PARTS:
                p, t = cells[part], cells[total]
                if p is not None and t is not None:
                    assert not 0 < t - p < THRESHOLD, (figures, part, total)
            if suppress(figures).engagement_rate is not None:
                assert cells["known"] is not None
                assert cells["engaged"] is not None


def test_auditors_see_every_figure_exactly() -> None:
    one = row(referrals_opened=1, referrals_contacted=1, median_hours_to_first_contact=2.0)
    shown = exact(one)
    assert (shown.referrals_opened, shown.median_hours_to_first_contact) == (1, 2.0)
    assert shown.withheld == {}
