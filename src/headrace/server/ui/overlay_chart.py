"""One SVG chart with several metric series overlaid (the run comparison page), drawn on the server.

Like ``charts``: no JavaScript, no external assets, a text alternative, fixed pixel sizes. Each series has
its own colour *and* dash pattern (the legend shows both, with the run's name), so colour is never the
only cue; x is MLflow's step where values carry one, else the value's position in its series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from headrace.server.ui.charts import MAX_POINTS, thin

# Okabe-Ito colours (told apart with the common colour-vision deficiencies), darkened where white is too close.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#8a7a00", "#6a3d9a",
           "#b15928")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "4 4", "1 2", "10 2 2 2 2 2", "3 6", "14 3 3 3")
MARKED_POINTS = 40


def style(index: int) -> tuple[str, str]:
    """(colour, dash pattern) of the series at ``index``, the same in the chart and the legend."""
    return COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]


def overlay_plot(series: Sequence[tuple[str, Sequence[tuple[float, float]]]], *, title: str, width: int = 640,
                 height: int = 240) -> Markup | None:
    """Lines of several series on shared axes.

    Args:
        series: (label, points) per run, in legend order; a run without the metric has no points.
        title: the metric name (the chart's accessible name).
        width: width in pixels; ``height`` likewise.

    Returns:
        An ``<svg>`` element, or None when no series has a finite point.
    """
    clean = [(label, [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]) for label, points in series]
    every = [p for _, points in clean for p in points]
    if not every:
        return None
    left, right, top, bottom = 64, 12, 12, 28
    x_low, x_high = min(x for x, _ in every), max(x for x, _ in every)
    y_low, y_high = min(y for _, y in every), max(y for _, y in every)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_high == y_low:
        y_low, y_high = y_low - 1, y_high + 1
    sx = (width - left - right) / (x_high - x_low)
    sy = (height - top - bottom) / (y_high - y_low)
    summary = f"{title}: " + "; ".join(_describe(label, points) for label, points in clean)
    parts = [
        f'<svg class="chart overlay" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(summary)}">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#d0d7de"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#d0d7de"/>',
        _label(left - 6, top + 4, _num(y_high), "end"), _label(left - 6, height - bottom, _num(y_low), "end"),
        _label(left, height - 8, _num(x_low), "start"), _label(width - right, height - 8, _num(x_high), "end"),
        _label((left + width - right) / 2, height - 8, "step", "middle"),
    ]
    for index, (label, points) in enumerate(clean):
        if not points:
            continue
        colour, dash = style(index)
        kept = thin([(i, y) for i, (_, y) in enumerate(points)], MAX_POINTS)
        coords = [(left + (points[i][0] - x_low) * sx, top + (y_high - y) * sy) for i, y in kept]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series" data-run="{escape(label)}">')
        if len(coords) > 1:
            path = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in coords)
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>')
        if len(coords) <= MARKED_POINTS:
            for (i, y), (cx, cy) in zip(kept, coords, strict=True):
                parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"><title>{escape(label)}, '
                             f"step {_num(points[i][0])}: {_num(y)}</title></circle>")
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(label: str, points: Sequence[tuple[float, float]]) -> str:
    if not points:
        return f"{label} none"
    return f"{label} {len(points)} values from {_num(points[0][1])} to {_num(points[-1][1])}"


def _label(x: float, y: float, text: str, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}" fill="#57606a">{escape(text)}</text>'


def _num(value: float) -> str:
    return f"{value:.4g}"
