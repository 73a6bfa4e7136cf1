"""Calendar months (UTC) and the 28-day county-line window, at their edges; the CSV shape."""

from datetime import UTC, date, datetime

import pytest

from services.insights.api.views import CSV_COLUMNS, figures_csv
from services.insights.figures import OUTCOME_CODES, FigureRow
from services.insights.periods import Month, county_line_window, month_range, month_windows
from services.insights.suppression import exact, suppress

pytestmark = pytest.mark.unit


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_a_month_runs_from_its_first_midnight_to_the_next_month_s() -> None:
    december = Month.parse("2024-12")
    assert (december.starts_at, december.ends_at) == (utc(2024, 12, 1), utc(2025, 1, 1))
    assert Month.parse("2024-02").last_day == date(2024, 2, 29)
    assert Month.parse("2023-02").last_day == date(2023, 2, 28)
    assert str(Month.parse("2025-03")) == "2025-03"


@pytest.mark.parametrize(
    "text", ["2025-13", "2025-00", "2025-3", "25-03", "2025-03-01", "0000-01", "0001-01", "9999-12"]
)
def test_malformed_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)


def test_month_range_spans_year_ends_and_includes_both_ends() -> None:
    months = month_range(Month(2024, 11), Month(2025, 2))
    assert [str(m) for m in months] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range(Month(2025, 2), Month(2024, 11)) == []
    assert Month(2025, 1).previous() == Month(2024, 12)


def test_the_county_line_window_is_the_28_days_ending_with_the_date() -> None:
    start, end = county_line_window(date(2024, 3, 28))
    assert (start, end) == (utc(2024, 3, 1), utc(2024, 3, 29))
    # Edges: 00:00 on the first day counts, 00:00 on the day after as_of does not.
    recorded = [
        utc(2024, 2, 29, 23, 59, 59),
        utc(2024, 3, 1),
        utc(2024, 3, 28, 23, 59),
        utc(2024, 3, 29),
    ]
    assert [start <= r < end for r in recorded] == [False, True, True, False]


def test_a_month_s_county_lines_are_counted_as_of_its_last_day() -> None:
    (february,) = month_windows([Month(2024, 2)])
    assert (february.lines_from, february.lines_to) == (utc(2024, 2, 2), utc(2024, 3, 1))


def test_csv_has_a_header_and_a_row_per_figure_row_with_empty_cells_for_undefined() -> None:
    row = FigureRow("barrow", "=HYPERLINK(evil)", "2024-01", referrals_opened=3)
    row.outcomes["signposted"] = 2
    lines = figures_csv([exact(row)]).splitlines()
    assert lines[0].split(",") == list(CSV_COLUMNS)
    cells = dict(zip(CSV_COLUMNS, lines[1].split(","), strict=True))
    assert cells["area_name"] == "'=HYPERLINK(evil)"  # never a formula in a spreadsheet
    assert (cells["referrals_opened"], cells["median_hours_to_first_contact"]) == ("3", "")
    assert cells["outcome_signposted"] == "2"
    assert {f"outcome_{code}" for code in OUTCOME_CODES} <= set(cells)


def test_csv_marks_withheld_cells_apart_from_undefined_ones() -> None:
    row = FigureRow("barrow", "Barrow", "2024-01", referrals_opened=12, referrals_contacted=10)
    row.median_hours_to_first_contact = 4.0
    row.outcomes["signposted"] = 2
    lines = figures_csv([suppress(row)]).splitlines()
    cells = dict(zip(CSV_COLUMNS, lines[1].split(","), strict=True))
    assert cells["referrals_opened"] == "12"
    assert cells["referrals_contacted"] == "[c]", "10 of 12 would reveal 2"
    assert cells["outcome_signposted"] == "<5"
    assert cells["median_hours_to_first_contact"] == "4.0"
    assert cells["engagement_rate"] == "", "undefined: no verdict at all"
