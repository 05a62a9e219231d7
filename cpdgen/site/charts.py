"""The numbers behind the site's two charts, which the templates draw as inline SVG.

Plain data only (coordinates in the SVG's own units, labels, counts), so a chart is part
of its page's context and a page is re-rendered only when its chart changed.
"""

from __future__ import annotations

from datetime import date, timedelta

from cpdgen.categories import CATEGORIES
from cpdgen.rules import DiplomaAssessment
from cpdgen.words import SHORT_MONTHS, short_date


def category_chart(diploma: DiplomaAssessment) -> dict:
    """Horizontal bars: counted activities per category (all five categories, in order)."""
    counts = {c.id: 0 for c in CATEGORIES}
    for judgement in diploma.judgements:
        if judgement.counted:
            counts[judgement.category] += 1
    top = max([*counts.values(), 1])
    bar_area = 200
    bars = []
    for n, category in enumerate(CATEGORIES):
        count = counts[category.id]
        bars.append(
            {
                "label": category.label,
                "url": f"categories/{category.id}/index.html",
                "count": count,
                "y": 8 + n * 34,
                "width": round(bar_area * count / top, 1) if count else 0,
            }
        )
    return {
        "bars": bars,
        "height": 8 + len(CATEGORIES) * 34,
        "bar_x": 165,
        "bar_area": bar_area,
        "total": sum(counts.values()),
    }


def timeline(diploma: DiplomaAssessment, shown: list[dict]) -> dict:
    """A timeline of the two years before the evaluation date, with the days that can count marked.

    One row per category; each published activity of the diploma's period is a dot
    (filled when it counts). The scale starts three months before the two-year window; the
    marked days start at the later of the window's start and the diploma's.
    """
    end = diploma.evaluated_on + timedelta(days=45)
    begin = diploma.window_start - timedelta(days=90)
    days = (end - begin).days
    left, width = 150, 600
    row, top = 26, 28

    def x(day: date) -> float:
        return round(left + width * (day - begin).days / days, 1)

    ticks = []
    month = date(begin.year, begin.month, 1)
    while month <= end:
        if month >= begin and month.month in (1, 4, 7, 10):
            ticks.append(
                {
                    "x": x(month),
                    "label": f"{SHORT_MONTHS[month.month - 1]} {month.year}" if month.month in (1, 7) else "",
                }
            )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    rows = {c.id: n for n, c in enumerate(CATEGORIES)}
    dots = []
    for item in shown:
        day = date.fromisoformat(item["date"])
        if begin <= day <= end:
            dots.append(
                {
                    "x": x(day),
                    "y": top + rows[item["category"]] * row + row / 2,
                    "counted": item["counted"],
                    "title": f"{item['date_text']}: {item['title']}",
                }
            )
    return {
        "width": left + width + 20,
        "height": top + len(CATEGORIES) * row + 24,
        "left": left,
        "plot_width": width,
        "top": top,
        "row": row,
        "rows": [{"label": c.label, "y": top + n * row + row / 2} for n, c in enumerate(CATEGORIES)],
        "window_x": x(diploma.window_start),
        "window_width": round(x(diploma.evaluated_on) - x(diploma.window_start), 1),
        "counts_x": x(diploma.counts_from),
        # A diploma whose start was written in advance has no days that count yet: no band.
        "counts_width": max(0.0, round(x(diploma.evaluated_on) - x(diploma.counts_from), 1)),
        "counts_label_x": min(x(diploma.counts_from) + 4, left + width - 230),
        "counts_from_text": short_date(diploma.counts_from),
        "today_x": x(diploma.evaluated_on),
        "window_start_text": short_date(diploma.window_start),
        "evaluated_on_text": short_date(diploma.evaluated_on),
        "ticks": ticks,
        "dots": dots,
        "axis_y": top + len(CATEGORIES) * row,
    }
