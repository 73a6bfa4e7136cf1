"""The console's pure parts: words for codes, UK times, which action forms show, the
request each form becomes, and the SVG charts."""

from datetime import UTC, datetime, timedelta

import pytest

from services.console import actions, labels
from services.console.charts import Bar, bar_chart, month_label, programme_charts
from services.console.figures import FigureRow

pytestmark = pytest.mark.unit
NOW = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)


def test_codes_read_as_words_and_ids_stay_as_they_are() -> None:
    assert labels.word("awaiting_acceptance") == "Awaiting acceptance"
    assert labels.word("no_answer") == "No answer"
    assert labels.word(None) == "—"
    assert labels.summary_value("worker", "twc-b-0487") == "twc-b-0487"
    assert labels.summary_value("visitor_safety", ["aggressive_dogs"]) == "Aggressive dogs"


def test_times_are_shown_in_uk_time() -> None:
    assert labels.when(datetime(2025, 6, 3, 12, 5, tzinfo=UTC)) == "Tue 3 Jun 2025, 13:05"
    assert labels.when(datetime(2025, 1, 3, 12, 5, tzinfo=UTC)) == "Fri 3 Jan 2025, 12:05"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=5), "in 5 hours"),
        (timedelta(minutes=-30), "30 minutes ago"),
        (timedelta(days=3), "in 3 days"),
        (timedelta(hours=1), "in 1 hour"),
    ],
)
def test_deadlines_read_relative_to_now(delta: timedelta, text: str) -> None:
    assert labels.relative(NOW + delta, NOW) == text


def _names(status: str, held: bool, role: str) -> list[str]:
    return [spec.name for spec in actions.offered(status, held, role)]


def test_staff_are_offered_the_actions_of_the_referrals_state() -> None:
    assert _names("awaiting_acceptance", False, "support_worker") == ["accept", "decline"]
    assert _names("accepted", False, "support_worker") == [
        "assign",
        "contact",
        "visit",
        "visit-attempt",
        "engagement",
        "complete",
    ]
    assert _names("completed", False, "agency_lead") == ["close"]
    assert _names("closed", False, "agency_lead") == []


def test_a_police_hold_hides_every_approach_to_the_person() -> None:
    assert _names("accepted", True, "support_worker") == ["assign", "engagement"]
    assert _names("accepted", True, "police_coordinator") == ["lift-hold"]
    assert _names("accepted", False, "police_coordinator") == ["hold"]
    assert _names("accepted", False, "auditor") == []


def test_a_form_becomes_the_body_casework_expects() -> None:
    decline = actions.BY_NAME["decline"]
    assert actions.request_body(decline, {"reason": "no_capacity"}, role="x", user="u") == {
        "reason": "no_capacity"
    }
    assert actions.request_body(actions.BY_NAME["accept"], {}, role="x", user="u") is None
    problem = actions.request_body(decline, {"reason": " "}, role="x", user="u")
    assert problem == actions.FormProblem("reason", "Choose a reason for declining.")
    odd = actions.request_body(decline, {"reason": "bored"}, role="x", user="u")
    assert isinstance(odd, actions.FormProblem)


def test_a_lead_assigns_anyone_a_worker_only_themselves() -> None:
    assign = actions.BY_NAME["assign"]
    form = {"worker": "twc-b-0999"}
    assert actions.request_body(assign, form, role="agency_lead", user="lead") == form
    assert actions.request_body(assign, form, role="support_worker", user="me") == {"worker": "me"}


def test_charts_escape_text_and_describe_their_numbers() -> None:
    svg = bar_chart("c", "Visits <per> month", [Bar("Jan 25", 3), Bar("Feb 25", None)])
    assert '<title id="c-t">Visits &lt;per&gt; month</title>' in svg
    assert '<desc id="c-d">Jan 25: 3; Feb 25: –</desc>' in svg
    assert svg.count("<rect") == 2


def _row(area: str, month: str, **values: object) -> FigureRow:
    return FigureRow.model_validate({"area": area, "month": month, **values})


def test_programme_charts_add_areas_up_but_never_medians() -> None:
    rows = [
        _row("barrow", "2025-05", referrals_opened=4, engagement_known=2, engaged=1),
        _row("kendal", "2025-05", referrals_opened=6, engagement_known=2, engaged=2),
    ]
    all_areas = programme_charts(rows, one_area=False)
    assert len(all_areas) == 4
    assert "May 25: 10" in all_areas[0].svg
    assert "May 25: 75%" in all_areas[2].svg, "3 engaged of 4 known"
    one = programme_charts(rows[:1], one_area=True)
    assert "Median hours to first contact" in [chart.title for chart in one]
    assert month_label("2025-12") == "Dec 25"
