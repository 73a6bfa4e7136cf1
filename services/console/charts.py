"""Bar charts as inline SVG, drawn on the server. Pure.

Each chart has a title and a text description for screen readers, and the page shows the
same numbers in a table, so nothing is only in the picture.
"""

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from services.console.figures import FigureRow

_WIDTH, _HEIGHT = 640, 240
_TOP, _BOTTOM, _LEFT, _RIGHT = 28, 36, 8, 8
_BAR = "#1d70b8"  # 5.2:1 on white (WCAG non-text contrast needs 3:1)
_INK = "#0b0c0c"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str | None = None
    """Shown instead of the value (e.g. 'fewer than 5' for a figure insights withheld)."""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup


def bar_chart(chart_id: str, title: str, bars: list[Bar], unit: str = "") -> Markup:
    known = [bar.value for bar in bars if bar.value is not None]
    top = max(known, default=0.0) or 1.0
    plot_h = _HEIGHT - _TOP - _BOTTOM
    slot = (_WIDTH - _LEFT - _RIGHT) / max(1, len(bars))
    size = 15 if len(bars) <= 8 else 12  # a year of months still fits under the bars
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(_describe(bars, unit))}</desc>',
        f'<line x1="{_LEFT}" y1="{_HEIGHT - _BOTTOM}" x2="{_WIDTH - _RIGHT}" '
        f'y2="{_HEIGHT - _BOTTOM}" stroke="{_INK}" stroke-width="1"/>',
    ]
    for index, bar in enumerate(bars):
        x = _LEFT + index * slot + slot * 0.15
        width = slot * 0.7
        centre = x + width / 2
        value = bar.value or 0.0
        height = plot_h * value / top
        y = _HEIGHT - _BOTTOM - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{_BAR}"/>'
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="{size}" '
            f'fill="{_INK}">{escape(_shown(bar, unit))}</text>'
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{_HEIGHT - _BOTTOM + 20}" text-anchor="middle" '
            f'font-size="{size}" fill="{_INK}">{escape(bar.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text inside is escaped above


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{value:.0f}%"
    text = f"{value:.1f}" if value != int(value) else f"{int(value)}"
    return f"{text}{unit}"


def _shown(bar: Bar, unit: str) -> str:
    return bar.text if bar.text is not None else _number(bar.value, unit)


def _describe(bars: list[Bar], unit: str) -> str:
    if not bars:
        return "No figures for this period."
    return "; ".join(f"{bar.label}: {_shown(bar, unit)}" for bar in bars)


def month_label(month: str) -> str:
    """'2025-06' -> 'Jun 25'."""
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    year, _, number = month.partition("-")
    if not number.isdigit() or not 1 <= int(number) <= 12:
        return month
    return f"{names[int(number) - 1]} {year[-2:]}"


def by_month(rows: list[FigureRow]) -> dict[str, list[FigureRow]]:
    months: dict[str, list[FigureRow]] = {}
    for row in sorted(rows, key=lambda r: r.month):
        months.setdefault(row.month, []).append(row)
    return months


def _chart(chart_id: str, title: str, bars: list[Bar], unit: str = "") -> Chart:
    return Chart(title, bar_chart(chart_id, title, bars, unit))


def count_bar(label: str, rows: list[FigureRow], pick: str) -> Bar:
    """One month's count summed over areas. Where insights withheld an area's count (small
    numbers) the sum is unknown: the bar stands at what is known for sure, each withheld
    count being at least 1, and says so ('at least 13'; 'fewer than 5' if that is all)."""
    known = sum(getattr(r, pick) or 0 for r in rows)
    withheld = [why for r in rows if (why := r.withheld_label(pick)) is not None]
    if not withheld:
        return Bar(label, float(known))
    if known == 0 and len(withheld) == 1:
        return Bar(label, None, withheld[0])
    return Bar(label, float(known + len(withheld)), f"at least {known + len(withheld)}")


def rate_bar(label: str, rows: list[FigureRow]) -> Bar:
    """The engagement rate of the month's referrals of every area, from its parts; none
    when a part is withheld (the rate of the rest would be a different figure)."""
    parts = [(r.engaged, r.engagement_known) for r in rows]
    if any(engaged is None or known is None for engaged, known in parts):
        if len(rows) == 1 and (text := rows[0].withheld_label("engagement_rate")):
            return Bar(label, None, text)
        return Bar(label, None, "withheld")
    known_total = sum(known or 0 for _, known in parts)
    engaged_total = sum(engaged or 0 for engaged, _ in parts)
    if not known_total:
        return Bar(label, None)
    return Bar(label, 100.0 * engaged_total / known_total)


def programme_charts(rows: list[FigureRow], one_area: bool) -> list[Chart]:
    """Counts summed over areas; the engagement rate recomputed from its parts; the median
    time to first contact only for one area (medians do not add up)."""
    months = by_month(rows)

    def series(pick: str) -> list[Bar]:
        return [count_bar(month_label(m), rs, pick) for m, rs in months.items()]

    charts = [
        _chart("c-referrals", "Referrals opened per month", series("referrals_opened")),
        _chart("c-visits", "Home visits completed per month", series("visits_completed")),
        _chart(
            "c-engagement",
            "Engagement rate of the month's referrals",
            [rate_bar(month_label(m), rs) for m, rs in months.items()],
            "%",
        ),
        _chart(
            "c-lines",
            "Active county lines (intelligence in the 28 days to month end)",
            series("active_county_lines"),
        ),
    ]
    if one_area:
        median = [
            Bar(
                month_label(m),
                rs[0].median_hours_to_first_contact,
                rs[0].withheld_label("median_hours_to_first_contact"),
            )
            for m, rs in months.items()
        ]
        charts.insert(2, _chart("c-contact", "Median hours to first contact", median, " h"))
    return charts
