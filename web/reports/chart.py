"""Charts drawn on the server as inline SVG: no script, nothing to download."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from core.reports.scope import Period

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
BAR_ROW, LABEL_WIDTH = 18, 170
COLOURS = {
    "positive": "#16a34a",
    "neutral": "#9ca3af",
    "negative": "#dc2626",
    "met": "#16a34a",  # SLA deadlines
    "missed": "#dc2626",
}


@dataclass(frozen=True)
class Dot:
    day: date  # where on the time axis
    value: float
    title: str  # shown on hover


@dataclass(frozen=True)
class Bar:
    label: str
    parts: dict[str, int]  # by bucket (positive, neutral, negative) or deadline (met, missed)
    title: str


def line(dots: Sequence[Dot], period: Period, low: float, high: float, label: str) -> Markup:
    """Values over the period's days, between ``low`` and ``high`` (gridlines at both ends
    and the middle); ``label`` names the chart for screen readers."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(1, period.days - 1)

    def x(day: date) -> float:
        offset = min(max((day - period.start).days, 0), span)
        return LEFT + offset / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [_open(WIDTH, HEIGHT, label)]
    for value in (low, (low + high) / 2, high):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#e5e7eb"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end" font-size="11" fill="#666">{value:g}</text>'
        )
    for day, anchor in ((period.start, "start"), (period.end, "end")):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="#666">{day.isoformat()}</text>'
        )
    at = [(x(d.day), y(d.value), d.title) for d in dots]
    if len(at) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in at)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2a6df4" stroke-width="2"/>')
    for px, py, title in at:
        parts.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="#2a6df4">'
            f"<title>{escape(title)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked(bars: Sequence[Bar], label: str) -> Markup:
    """One horizontal bar per row, its parts side by side in the buckets' colours, scaled to
    the longest bar."""
    longest = max((sum(b.parts.values()) for b in bars), default=0) or 1
    plot_w = WIDTH - LABEL_WIDTH - RIGHT
    height = len(bars) * BAR_ROW + 4
    parts = [_open(WIDTH, height, label)]
    for row, bar in enumerate(bars):
        top = row * BAR_ROW + 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{top + 12}" text-anchor="end" font-size="11" '
            f'fill="#333">{escape(bar.label[:28])}</text><g><title>{escape(bar.title)}</title>'
        )
        left = float(LABEL_WIDTH)
        for bucket, count in bar.parts.items():
            width = count / longest * plot_w
            parts.append(
                f'<rect x="{left:.1f}" y="{top}" width="{width:.1f}" height="{BAR_ROW - 4}" '
                f'fill="{COLOURS[bucket]}"/>'
            )
            left += width
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    )
