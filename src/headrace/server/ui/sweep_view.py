"""A sweep (HyperDrive) run on the run page: its trials' hyperparameters, primary metric and status, and a
scatter plot of each numeric hyperparameter against the primary metric."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from headrace.services.bundle import Services
from headrace.storage.records import RunKind, RunRecord

SWEEP_PROPERTY = "headrace.sweep"  # written by sdk/runs/sweep.py
HYPERPARAMETERS_TAG = "hyperparameters"


@dataclass
class Trial:
    run: RunRecord
    hyperparameters: dict[str, Any]
    metric: float | None


@dataclass
class SweepView:
    metric: str
    goal: str
    names: list[str]
    trials: list[Trial]
    plots: list[Markup] = field(default_factory=list)


def sweep_view(svc: Services, run: RunRecord, children: list[RunRecord]) -> SweepView | None:
    """The sweep section of a hyperdrive run's page (trials best first), or None for another kind of run."""
    if run.kind is not RunKind.SWEEP:
        return None
    settings = json.loads(run.properties.get(SWEEP_PROPERTY) or "{}")
    metric, goal = settings.get("primary_metric_name", ""), settings.get("primary_metric_goal", "MAXIMIZE")
    trials = []
    for child in children:
        values = [m.value for m in svc.store.list_metrics(child.id) if m.step_run_id is None and m.name == metric
                  and isinstance(m.value, int | float) and not isinstance(m.value, bool)]
        best = (max(values) if goal == "MAXIMIZE" else min(values)) if values else None
        trials.append(Trial(child, json.loads(child.tags.get(HYPERPARAMETERS_TAG) or "{}"), best))
    sign = -1 if goal == "MAXIMIZE" else 1
    trials.sort(key=lambda t: (t.metric is None, sign * (t.metric or 0)))
    names = list(dict.fromkeys(n for t in trials for n in t.hyperparameters))
    view = SweepView(metric, goal, names, trials)
    for name in names:
        points = [(float(t.hyperparameters[name]), t.metric) for t in trials if t.metric is not None
                  and _number(t.hyperparameters.get(name))]
        if points:
            view.plots.append(scatter(points, x_label=name, y_label=metric))
    return view


def scatter(points: list[tuple[float, float]], *, x_label: str, y_label: str, width: int = 320,
            height: int = 180) -> Markup:
    """An SVG scatter plot of (hyperparameter value, primary metric) points."""
    left, right, top, bottom = 56, 12, 10, 34
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_low, x_high = _span(min(xs), max(xs))
    y_low, y_high = _span(min(ys), max(ys))
    sx = (width - left - right) / (x_high - x_low)
    sy = (height - top - bottom) / (y_high - y_low)
    title = f"{y_label} against {x_label}: {len(points)} trials"
    parts = [
        f'<svg class="chart scatter" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" data-x="{escape(x_label)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#d0d7de"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#d0d7de"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#57606a">{y_high:.4g}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end" fill="#57606a">{y_low:.4g}</text>',
        f'<text x="{left}" y="{height - bottom + 14}" font-size="11" fill="#57606a">{x_low:.4g}</text>',
        f'<text x="{width - right}" y="{height - bottom + 14}" font-size="11" text-anchor="end" fill="#57606a">'
        f"{x_high:.4g}</text>",
        f'<text x="{(left + width - right) / 2}" y="{height - 4}" font-size="11" text-anchor="middle" '
        f'fill="#57606a">{escape(x_label)}</text>',
    ]
    for x, y in points:
        cx, cy = left + (x - x_low) * sx, top + (y_high - y) * sy
        parts.append(f'<circle class="trial" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#0b5cad" fill-opacity="0.7">'
                     f"<title>{escape(x_label)}={x:.4g}: {escape(y_label)}={y:.4g}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _span(low: float, high: float) -> tuple[float, float]:
    if high == low or not (math.isfinite(low) and math.isfinite(high)):
        return low - 1, high + 1
    return low, high


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
