"""Pure SVG charts for the run page: a Gantt chart of step timings and line plots of metric series.

No JavaScript and no external assets: each function returns a ``Markup`` string of one ``<svg>``
element with a text alternative (``<title>`` + ``aria-label``), fixed pixel sizes so that text stays
readable (pages put charts in a horizontally scrolling box on narrow screens). Colours come with
text: a bar's status is also written next to it, and reused steps are hatched and labelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Fill per step status; the same words appear as text, so colour is never the only cue.
STATUS_FILL = {
    "finished": "#1a7f37", "reused": "#57606a", "failed": "#b42318", "running": "#0b5cad",
    "queued": "#8c959f", "notstarted": "#d0d7de", "canceled": "#8c959f",
}
LABEL_WIDTH = 150
ROW_HEIGHT = 24
AXIS_HEIGHT = 22
TEXT_ROOM = 110  # right of the plot, for "12.3 s · failed"


@dataclass(frozen=True)
class Bar:
    """One step in the Gantt chart; ``start``/``end`` are seconds from the chart's origin (None: not started)."""

    label: str
    start: float | None
    end: float | None
    status: str
    reused: bool = False


def short_duration(seconds: float) -> str:
    """``0 s``, ``850 ms``, ``12.5 s``, ``3 min``, ``2 min 30 s``, ``1 h 05 min``: compact, for axes and bars."""
    if seconds <= 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, secs = divmod(int(round(seconds)), 60)
        return f"{minutes} min" if secs == 0 else f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(int(round(seconds / 60)), 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"


def nice_step(span: float, target: int = 5) -> float:
    """A round tick interval (1, 2 or 5 times a power of ten) giving about ``target`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def gantt(bars: Sequence[Bar], *, width: int = 720, title: str = "Step timings") -> Markup:
    """A horizontal bar per step on a shared time axis.

    Args:
        bars: the steps, in display order.
        width: total width in pixels (label column and text room included).
        title: the chart's accessible name.

    Returns:
        An ``<svg>`` element; steps that never started get a row with "not started" and no bar.
    """
    plot = max(width - LABEL_WIDTH - TEXT_ROOM, 60)
    ends = [b.end for b in bars if b.end is not None] + [b.start for b in bars if b.start is not None]
    span = max(ends, default=0.0) or 1.0
    step = nice_step(span)
    span = math.ceil(span / step - 1e-9) * step  # the axis ends on a tick
    scale = plot / span
    height = AXIS_HEIGHT + ROW_HEIGHT * max(len(bars), 1) + 4
    parts = [
        f'<svg class="chart gantt" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(_gantt_summary(title, bars))}">',
        f"<title>{escape(title)}</title>",
        '<defs><pattern id="gantt-reused" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#8c959f"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="3"/></pattern></defs>',
    ]
    for k in range(int(span / step + 1e-9) + 1):
        tick = k * step
        x = LABEL_WIDTH + tick * scale
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{AXIS_HEIGHT - 4}" x2="{x:.1f}" y2="{height - 2}" '
                     'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{AXIS_HEIGHT - 8}" font-size="11" text-anchor="middle" '
                     f'fill="#57606a">{escape(short_duration(tick))}</text>')
    for i, bar in enumerate(bars):
        parts.append(_row(bar, AXIS_HEIGHT + i * ROW_HEIGHT, scale))
    parts.append("</svg>")
    return Markup("".join(parts))


def _row(bar: Bar, y: int, scale: float) -> str:
    status = bar.status.lower()
    label = bar.label if len(bar.label) <= 20 else bar.label[:19] + "…"
    out = [f'<g class="bar bar-{escape(status)}{" bar-reused" if bar.reused else ""}" data-step="{escape(bar.label)}">',
           f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="#1b1f24">'
           f"{escape(label)}</text>"]
    if bar.start is None:
        out.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 16}" font-size="11" fill="#57606a">'
                   f"{escape(_status_words(bar))}</text>")
    else:
        end = bar.end if bar.end is not None else bar.start
        x = LABEL_WIDTH + bar.start * scale
        w = max((end - bar.start) * scale, 2.0)
        fill = "url(#gantt-reused)" if bar.reused else STATUS_FILL.get(status, "#8c959f")
        words = f"{short_duration(end - bar.start)} · {_status_words(bar)}"
        out.append(f'<rect x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{ROW_HEIGHT - 9}" rx="2" fill="{fill}">'
                   f"<title>{escape(bar.label)}: {escape(words)}</title></rect>")
        out.append(f'<text x="{x + w + 5:.1f}" y="{y + 16}" font-size="11" fill="#1b1f24">{escape(words)}</text>')
    out.append("</g>")
    return "".join(out)


def _status_words(bar: Bar) -> str:
    if bar.reused:
        return "reused"
    return {"notstarted": "not started"}.get(bar.status.lower(), bar.status.lower())


def _gantt_summary(title: str, bars: Sequence[Bar]) -> str:
    items = []
    for bar in bars:
        if bar.start is None:
            items.append(f"{bar.label} {_status_words(bar)}")
        else:
            end = bar.end if bar.end is not None else bar.start
            items.append(f"{bar.label} {short_duration(end - bar.start)} {_status_words(bar)}")
    return f"{title}: " + "; ".join(items) if items else f"{title}: no steps"


MAX_POINTS = 400  # a longer series is thinned to this many points (min and max of each bucket kept)
MARKED_POINTS = 60  # up to this many points, each gets a dot with its value as a tooltip


def line_plot(values: Sequence[float], *, title: str, width: int = 320, height: int = 140) -> Markup | None:
    """A line through a metric series, in logging order (x is the value's position in the series).

    Args:
        values: the series; non-finite or non-numeric values are skipped.
        title: the metric name (the chart's accessible name).
        width: width in pixels; ``height`` likewise.

    Returns:
        An ``<svg>`` element, or None when fewer than two numeric values remain.
    """
    points = [(i, float(v)) for i, v in enumerate(values) if _is_number(v) and math.isfinite(float(v))]
    if len(points) < 2:
        return None
    summary = (f"{title}: {len(points)} values from {_num(points[0][1])} to {_num(points[-1][1])}, "
               f"min {_num(min(v for _, v in points))}, max {_num(max(v for _, v in points))}")
    points = thin(points, MAX_POINTS)
    left, right, top, bottom = 56, 10, 10, 24
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    if high == low:  # a flat series: centre it
        low, high = low - 1, high + 1
    last_index = len(values) - 1 or 1
    sx = (width - left - right) / last_index
    sy = (height - top - bottom) / (high - low)
    coords = [(left + i * sx, top + (high - v) * sy) for i, v in points]
    path = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in coords)
    parts = [
        f'<svg class="chart plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(summary)}">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#d0d7de"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#d0d7de"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#57606a">{_num(high)}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end" fill="#57606a">{_num(low)}</text>',
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="#57606a">1</text>',
        f'<text x="{width - right}" y="{height - 6}" font-size="11" text-anchor="end" fill="#57606a">'
        f"{len(values)}</text>",
        f'<path d="{path}" fill="none" stroke="#0b5cad" stroke-width="2"/>',
    ]
    for (i, v), (x, y) in zip(points if len(points) <= MARKED_POINTS else [], coords, strict=False):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#0b5cad"><title>#{i + 1}: {_num(v)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def thin(points: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most about ``limit`` points: the series cut in buckets, each keeping its lowest and highest
    point in order, so peaks survive; the first and last points always stay."""
    if len(points) <= limit:
        return points
    buckets = max(limit // 2 - 1, 1)
    size = (len(points) - 2) / buckets
    out = [points[0]]
    for b in range(buckets):
        chunk = points[1 + int(b * size): 1 + int((b + 1) * size)]
        if chunk:
            low, high = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
            out.extend(sorted({low, high}))
    out.append(points[-1])
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: float) -> str:
    return f"{value:.4g}"
