"""What the API answers: the figures (JSON rows or CSV) and county lines as of a date."""

import csv
import io
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.insights.figures import OUTCOME_CODES, CountyLinesAsOf, FigureRow


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Figures(View):
    area: str | None = Field(description="Area code; null: no area of the directory covers it.")
    area_name: str | None = Field(description="The area's name in the directory in force.")
    month: str = Field(description="Calendar month (UTC), YYYY-MM.")
    referrals_opened: int = Field(description="Referrals opened in the month.")
    visits_completed: int = Field(description="Home visits completed in the month.")
    referrals_contacted: int = Field(description="Of the month's referrals, those reached.")
    median_hours_to_first_contact: float | None = Field(
        description="Of the month's referrals reached, median hours from opening to first "
        "contact; null if none was reached."
    )
    engagement_known: int = Field(
        description="Of the month's referrals, those with an outcome or engagement recorded."
    )
    engaged: int = Field(description="Of those, the ones engaged.")
    engagement_rate: float | None = Field(
        description="engaged / engagement_known; null when engagement_known is 0."
    )
    outcomes: dict[str, int] = Field(
        description="Referrals whose outcome was recorded in the month, by outcome code."
    )
    referrals_cancelled: int = Field(description="Referrals cancelled in the month.")
    active_county_lines: int = Field(
        description="Distinct county lines in intelligence recorded in the 28 days ending on "
        "the month's last day."
    )


class FiguresPage(View):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_month: str = Field(alias="from", description="First month, YYYY-MM.")
    to_month: str = Field(alias="to", description="Last month, YYYY-MM.")
    area: str | None = Field(description="The area asked for; null: every area.")
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


def figures_view(row: FigureRow) -> Figures:
    return Figures(**vars(row))


def county_lines_view(found: CountyLinesAsOf) -> CountyLinesPage:
    areas = [AreaLines(**vars(area)) for area in found.areas]
    return CountyLinesPage(
        as_of=found.as_of, window_from=found.window_from, window_to=found.window_to, areas=areas
    )


CSV_COLUMNS = (
    "area",
    "area_name",
    "month",
    "referrals_opened",
    "visits_completed",
    "referrals_contacted",
    "median_hours_to_first_contact",
    "engagement_known",
    "engaged",
    "engagement_rate",
    "referrals_cancelled",
    "active_county_lines",
    *(f"outcome_{code}" for code in OUTCOME_CODES),
)


def _text_cell(value: str | None) -> str:
    """Names come from the directory: never let a spreadsheet read one as a formula."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value or ""


def _number_cell(value: float | int | None) -> str:
    return "" if value is None else str(value)


def figures_csv(rows: list[FigureRow]) -> str:
    """A header row, then one row per area and month; empty cells for null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _text_cell(row.area),
                _text_cell(row.area_name),
                row.month,
                *(
                    _number_cell(value)
                    for value in (
                        row.referrals_opened,
                        row.visits_completed,
                        row.referrals_contacted,
                        row.median_hours_to_first_contact,
                        row.engagement_known,
                        row.engaged,
                        row.engagement_rate,
                        row.referrals_cancelled,
                        row.active_county_lines,
                    )
                ),
                *(str(row.outcomes[code]) for code in OUTCOME_CODES),
            ]
        )
    return out.getvalue()
