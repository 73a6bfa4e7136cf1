"""What the API answers: the figures (JSON rows or CSV) and county lines as of a date."""

import csv
import io
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.insights.figures import OUTCOME_CODES, CountyLinesAsOf
from services.insights.suppression import ShownRow, Withheld


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


_WITHHELD = " Null when withheld (named in 'withheld'): see the API description, 'Small numbers'."


class Figures(View):
    area: str | None = Field(description="Area code; null: no area of the directory covers it.")
    area_name: str | None = Field(description="The area's name in the directory in force.")
    month: str = Field(description="Calendar month (UTC), YYYY-MM.")
    referrals_opened: int | None = Field(description="Referrals opened in the month." + _WITHHELD)
    visits_completed: int | None = Field(
        description="Home visits completed in the month." + _WITHHELD
    )
    referrals_contacted: int | None = Field(
        description="Of the month's referrals, those reached." + _WITHHELD
    )
    median_hours_to_first_contact: float | None = Field(
        description="Of the month's referrals reached, median hours from opening to first "
        "contact; null if none was reached." + _WITHHELD
    )
    engagement_known: int | None = Field(
        description="Of the month's referrals, those with an outcome or engagement recorded."
        + _WITHHELD
    )
    engaged: int | None = Field(description="Of those, the ones engaged." + _WITHHELD)
    engagement_rate: float | None = Field(
        description="engaged / engagement_known; null when engagement_known is 0." + _WITHHELD
    )
    outcomes: dict[str, int | None] = Field(
        description="Referrals whose outcome was recorded in the month, by outcome code; a "
        "code's count is null when withheld ('outcomes.<code>' in 'withheld')."
    )
    referrals_cancelled: int | None = Field(
        description="Referrals cancelled in the month." + _WITHHELD
    )
    active_county_lines: int = Field(
        description="Distinct county lines in intelligence recorded in the 28 days ending on "
        "the month's last day. Counts networks, not people: never withheld."
    )
    withheld: dict[str, Withheld] = Field(
        description="The figures of this row withheld (their value is null), by name ("
        "'outcomes.<code>' for an outcome), with why: 'fewer_than_5' (a count from 1 to 4), "
        "'from_fewer_than_5' (a median or rate of fewer than 5 referrals), "
        "'reveals_small_count' (it would let a count from 1 to 4 be worked out from the "
        "row's other figures). Empty for auditors."
    )


class FiguresPage(View):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_month: str = Field(alias="from", description="First month, YYYY-MM.")
    to_month: str = Field(alias="to", description="Last month, YYYY-MM.")
    area: str | None = Field(description="The area asked for; null: every area you may see.")
    areas_in_scope: list[str] | None = Field(
        description="The areas you may see (your force's, or your agency's); null: every "
        "area, and what no area covers (auditors)."
    )
    suppressed_below: int | None = Field(
        description="Counts from 1 to this number minus 1 are withheld, and what would reveal "
        "them (see 'withheld' on each row); null: every figure exact (auditors)."
    )
    rows: list[Figures] = Field(description="One row per area and month.")


class AreaLines(View):
    area: str | None = Field(description="Area code; null: no area of the directory covers it.")
    area_name: str | None = Field(description="The area's name in the directory in force.")
    active_county_lines: int = Field(description="Distinct county lines in the window.")


class CountyLinesPage(View):
    as_of: date = Field(description="The last day of the 28-day window (UTC).")
    window_from: datetime = Field(description="Intelligence recorded at or after this counts.")
    window_to: datetime = Field(description="...and before this (exclusive end).")
    areas: list[AreaLines] = Field(description="Every area of the directory, and null if any.")


def figures_view(row: ShownRow) -> Figures:
    return Figures(**vars(row))


def county_lines_view(found: CountyLinesAsOf) -> CountyLinesPage:
    areas = [AreaLines(**vars(area)) for area in found.areas]
    return CountyLinesPage(
        as_of=found.as_of, window_from=found.window_from, window_to=found.window_to, areas=areas
    )


_CSV_FIGURES = (
    "referrals_opened",
    "visits_completed",
    "referrals_contacted",
    "median_hours_to_first_contact",
    "engagement_known",
    "engaged",
    "engagement_rate",
    "referrals_cancelled",
    "active_county_lines",
)

CSV_COLUMNS = (
    "area",
    "area_name",
    "month",
    *_CSV_FIGURES,
    *(f"outcome_{code}" for code in OUTCOME_CODES),
)


def _text_cell(value: str | None) -> str:
    """Names come from the directory: never let a spreadsheet read one as a formula."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value or ""


CSV_FEWER_THAN_5 = "<5"
"""The cell of a count from 1 to 4."""
CSV_WITHHELD = "[c]"
"""The cell of any other withheld figure (ONS's mark for a confidential value)."""


def _number_cell(row: ShownRow, name: str, value: float | int | None) -> str:
    reason = row.withheld.get(name)
    if reason is Withheld.FEWER_THAN_5:
        return CSV_FEWER_THAN_5
    if reason is not None:
        return CSV_WITHHELD
    return "" if value is None else str(value)


def figures_csv(rows: list[ShownRow]) -> str:
    """A header row, then one row per area and month; empty cells for undefined figures,
    ``<5`` for a count from 1 to 4 and ``[c]`` for another withheld figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _text_cell(row.area),
                _text_cell(row.area_name),
                row.month,
                *(_number_cell(row, name, getattr(row, name)) for name in _CSV_FIGURES),
                *(
                    _number_cell(row, f"outcomes.{code}", row.outcomes[code])
                    for code in OUTCOME_CODES
                ),
            ]
        )
    return out.getvalue()
