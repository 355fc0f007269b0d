"""Horizontal bar charts as inline SVG, drawn on the server.

No script and no style attribute (the Content-Security-Policy forbids inline styles): colours
come from classes that static/css/dashboard.css fills with the design tokens, with presentation
attributes as the fallback. Each chart is ``<svg role="img">`` named by its ``<title>`` and
described by a ``<desc>`` that reads out every number; the page puts the same numbers in a
table beside it. Every label is escaped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from markupsafe import Markup, escape

#: Fallback fills (the token colours) for when the stylesheet is not applied, e.g. a saved SVG.
FILLS = {
    "total": "#0017c1",
    "excluded": "#949494",
    "planned": "#9db7f9",
    "done": "#197a4b",
    "online": "#0017c1",
    "partial": "#9db7f9",
    "matched": "#9db7f9",
    "track": "#f2f2f2",
}

#: Geometry in SVG user units (1 unit = 1 CSS pixel at the chart's natural width).
WIDTH = 720
FONT_SIZE = 14
BAR_HEIGHT = 20
ROW_HEIGHT = 28
GROUP_GAP = 10
PADDING = 6
LABEL_MAX = 300
#: Bold digits run a little wider than :func:`text_width` estimates for regular text.
BOLD = 1.1


@dataclass
class Segment:
    """A stretch of a bar: its value and the series it belongs to (a CSS class suffix)."""

    value: float
    series: str


@dataclass
class Bar:
    """One bar of a group: its segments, the text written after it, and its series' name."""

    segments: list[Segment]
    text: str
    #: What the bar counts, for the text alternative (e.g. "Planned").
    name: str = ""

    @property
    def total(self) -> float:
        """The length of the whole bar, in data units."""
        return sum(segment.value for segment in self.segments)


@dataclass
class Group:
    """A labelled row: one bar, or several side by side (e.g. planned and done of one year)."""

    label: str
    bars: list[Bar] = field(default_factory=list)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimate the drawn width of a text: full width for CJK characters, 0.6 em otherwise."""
    return sum(size if unicodedata.east_asian_width(char) in "WF" else 0.6 * size for char in text)


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """Shorten a text with an ellipsis so that it fits the width (the table has it in full)."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def describe(groups: list[Group]) -> str:
    """Read out every number of a chart as one sentence per group, for ``<desc>``."""
    parts = []
    for group in groups:
        values = ", ".join(f"{bar.name} {bar.text}".strip() for bar in group.bars)
        parts.append(f"{group.label}: {values}")
    return "; ".join(parts) + "."


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    *,
    chart_id: str,
    title: str,
    groups: list[Group],
    scale: float | None = None,
    track: bool = False,
    desc: str | None = None,
    width: int = WIDTH,
) -> Markup:
    """Draw groups of horizontal bars as an accessible ``<svg role="img">``.

    ``scale`` is the value that fills the bar area (default: the longest bar); ``track`` draws
    the full bar area behind each bar, for shares of a whole. ``width`` is the natural width in
    CSS pixels (the SVG scales to its box; text keeps its size when the box is that wide).
    """
    longest = max((bar.total for group in groups for bar in group.bars), default=0)
    scale = scale or longest or 1
    label_width = min(
        LABEL_MAX, max((text_width(group.label) for group in groups), default=0) + 2 * PADDING
    )
    value_width = BOLD * max(
        (text_width(bar.text) for group in groups for bar in group.bars), default=0
    )
    bar_left = label_width + PADDING
    bar_area = width - bar_left - value_width - 2 * PADDING
    rows = sum(len(group.bars) for group in groups)
    height = rows * ROW_HEIGHT + max(len(groups) - 1, 0) * GROUP_GAP + 2 * PADDING
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    out = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-size="{FONT_SIZE}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(desc or describe(groups))}</desc>',
    ]
    y = PADDING
    for group in groups:
        group_height = len(group.bars) * ROW_HEIGHT
        out.append('<g class="chart-group">')
        out.append(
            f'<text class="chart-label" x="{_number(label_width - PADDING)}" '
            f'y="{_number(y + group_height / 2)}" text-anchor="end" dominant-baseline="central">'
            f"{escape(fit(group.label, label_width - 2 * PADDING))}</text>"
        )
        for index, bar in enumerate(group.bars):
            top = y + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
            if track:
                out.append(
                    f'<rect class="chart-track" x="{_number(bar_left)}" y="{_number(top)}" '
                    f'width="{_number(bar_area)}" height="{BAR_HEIGHT}" fill="{FILLS["track"]}"/>'
                )
            x = bar_left
            for segment in bar.segments:
                length = bar_area * segment.value / scale if segment.value > 0 else 0
                if length > 0:
                    fill = FILLS.get(segment.series, FILLS["total"])
                    out.append(
                        f'<rect class="chart-bar chart-{escape(segment.series)}" '
                        f'x="{_number(x)}" y="{_number(top)}" width="{_number(length)}" '
                        f'height="{BAR_HEIGHT}" fill="{fill}"/>'
                    )
                x += length
            end = bar_left + bar_area if track else x
            out.append(
                f'<text class="chart-value" x="{_number(end + PADDING)}" '
                f'y="{_number(top + BAR_HEIGHT / 2)}" dominant-baseline="central">'
                f"{escape(bar.text)}</text>"
            )
        out.append("</g>")
        y += group_height + GROUP_GAP
    out.append("</svg>")
    return Markup("".join(out))
