"""Chart geometry for the dashboard: numbers in, rectangles out. The templates draw them as inline SVG elements
(attributes only: no script, no style attribute), so the charts need no JavaScript library and pass the CSP.

All coordinates are SVG user units of a chart's own viewBox (`width` x `height`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flows.review.views import Dashboard
from pipeline.types import Status

STATUS_ORDER: Final = (Status.COMPLETE, Status.NEEDS_REVIEW, Status.INCOMPLETE, Status.REJECTED)


@dataclass(frozen=True, slots=True)
class Rect:
    """A bar or a bar's segment; `css` is a class of the stylesheet."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    """A text label at (x, y); `anchor` is the SVG text-anchor."""

    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its viewBox size, rectangles and labels, and a one-line summary for screen readers."""

    width: float
    height: float
    rects: list[Rect]
    labels: list[Label]
    summary: str


def horizontal_bars(items: list[tuple[str, float, str]], *, maximum: float | None = None, width: float = 640,
                    bar_height: float = 22, label_width: float = 300, unit: str = "") -> Chart:
    """One bar per (label, value, value text); bars scale to `maximum` (default: the largest value)."""
    top = maximum if maximum is not None else max((v for _, v, _ in items), default=0.0)
    span = width - label_width - 70
    rects, labels = [], []
    for i, (label, value, text) in enumerate(items):
        y = i * (bar_height + 8)
        w = 0.0 if top <= 0 else span * value / top
        rects.append(Rect(label_width, y, max(w, 1.0), bar_height, "bar", f"{label}: {text}"))
        labels.append(Label(label_width - 8, y + bar_height * 0.7, label[:48], "end"))
        labels.append(Label(label_width + max(w, 1.0) + 6, y + bar_height * 0.7, text + unit))
    height = max(len(items) * (bar_height + 8), bar_height)
    summary = "; ".join(f"{label}: {text}{unit}" for label, _, text in items) or "no data"
    return Chart(width, height, rects, labels, summary)


def status_mix(dash: Dashboard, *, width: float = 640, height: float = 220) -> Chart:
    """Stacked columns: uploads per day by report status."""
    days = dash.days[-14:]
    plot_h = height - 40
    top = max((sum(d.statuses.values()) for d in days), default=0)
    col = min(width / max(len(days), 1), 90.0)  # a few days do not become page-wide slabs
    rects: list[Rect] = []
    labels: list[Label] = []
    for i, day in enumerate(days):
        x = i * col + col * 0.15
        y = plot_h
        for status in STATUS_ORDER:
            n = day.statuses.get(status, 0)
            if n == 0 or top == 0:
                continue
            h = plot_h * n / top
            y -= h
            rects.append(Rect(x, y, col * 0.7, h, f"st-{status.value}", f"{day.day} {status.value}: {n}"))
        labels.append(Label(x + col * 0.35, height - 22, day.day[5:], "middle"))
        labels.append(Label(x + col * 0.35, height - 6, str(sum(day.statuses.values())), "middle"))
    summary = "; ".join(f"{d.day}: " + ", ".join(f"{s.value} {d.statuses.get(s, 0)}" for s in STATUS_ORDER)
                        for d in days) or "no data"
    return Chart(width, height, rects, labels, summary)


def median_wait(dash: Dashboard, *, width: float = 640, height: float = 200) -> Chart:
    """Columns: median minutes from the first report to the decision, per day of decision."""
    days = [d for d in dash.days if d.median_minutes is not None][-14:]
    plot_h = height - 40
    top = max((d.median_minutes or 0.0 for d in days), default=0.0)
    col = min(width / max(len(days), 1), 90.0)
    rects, labels = [], []
    for i, day in enumerate(days):
        minutes = day.median_minutes or 0.0
        h = 0.0 if top <= 0 else plot_h * minutes / top
        x = i * col + col * 0.2
        rects.append(Rect(x, plot_h - max(h, 1.0), col * 0.6, max(h, 1.0), "bar", f"{day.day}: {minutes} min"))
        labels.append(Label(x + col * 0.3, height - 22, day.day[5:], "middle"))
        labels.append(Label(x + col * 0.3, height - 6, f"{minutes:g} min", "middle"))
    summary = "; ".join(f"{d.day}: {d.median_minutes} min" for d in days) or "no decisions yet"
    return Chart(width, height, rects, labels, summary)


def straight_through(dash: Dashboard, *, width: float = 640, height: float = 28) -> Chart:
    """One bar split into straight-through and the rest."""
    share = dash.straight_through / dash.total if dash.total else 0.0
    rects = [Rect(0, 0, width, height, "track", "all reported uploads"),
             Rect(0, 0, width * share, height, "st-complete", f"straight through: {share:.0%}")]
    return Chart(width, height, rects, [], f"{dash.straight_through} of {dash.total} straight through ({share:.0%})")


def reasons(dash: Dashboard) -> Chart:
    """The most common reasons a document was flagged."""
    return horizontal_bars([(reason, float(n), str(n)) for reason, n in dash.reasons], label_width=330)


def agreement(dash: Dashboard) -> Chart:
    """Share of decided documents where coordinators kept docverify's reading, per field and for the verdict."""
    items = [(label, (agreed / decided) if decided else 0.0,
              f"{agreed / decided:.0%} of {decided}" if decided else "none to compare")
             for label, agreed, decided in dash.agreement]
    return horizontal_bars(items, maximum=1.0, label_width=200)
