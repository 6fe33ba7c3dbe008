"""The data behind the run comparison page: parameters and metrics of several runs side by side.

A run's parameters are its pipeline parameters, its MLflow params (those of its steps too) and, for a sweep's
trial, its sampled hyperparameters; its metrics are
what it and its steps logged. Names logged in a step carry the step's name (``train/loss``) when the run has
several steps, so two pipeline runs line up step by step; a run of one step (a script run) or of none (an
interactive or MLflow run) shows plain names.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from headrace.engine.compute import MLFLOW_PARAMS_PROPERTY
from headrace.errors import NotFoundError
from headrace.server.ui.sweep_view import HYPERPARAMETERS_TAG
from headrace.services.bundle import Services
from headrace.services.runs import step_metrics
from headrace.storage.records import MetricRecord, RunRecord

MAX_RUNS = 10
"""The most runs one comparison shows (each gets its own colour and dash pattern)."""


@dataclass
class ComparedRun:
    """One column of the comparison."""

    run: RunRecord
    label: str
    duration: float | None
    params: dict[str, str] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name -> (x, value)


@dataclass
class Row:
    """One parameter or metric across the runs (None where a run has none); ``differs`` when they disagree."""

    name: str
    values: list[Any]

    @property
    def differs(self) -> bool:
        return len({repr(v) for v in self.values}) > 1


@dataclass
class Comparison:
    runs: list[ComparedRun]
    params: list[Row]
    metrics: list[Row]
    charted: list[str]  # metric names with a series worth drawing (two or more points in some run)
    missing: list[str]  # asked-for ids that name no run
    dropped: int  # ids beyond MAX_RUNS


def compare(svc: Services, run_ids: list[str]) -> Comparison:
    """Read the runs ``run_ids`` (duplicates once, unknown ids listed in ``missing``) for the page."""
    wanted = list(dict.fromkeys(i.strip() for i in run_ids if i.strip()))
    dropped = max(len(wanted) - MAX_RUNS, 0)
    runs, missing = [], []
    for run_id in wanted[:MAX_RUNS]:
        try:
            runs.append(_read(svc, svc.store.get_run(run_id)))
        except NotFoundError:
            missing.append(run_id)
    params = _rows([r.params for r in runs])
    metrics = _rows([r.last for r in runs])
    charted = [m.name for m in metrics if any(len(r.series.get(m.name, ())) >= 2 for r in runs)]
    return Comparison(runs=runs, params=params, metrics=metrics, charted=charted, missing=missing, dropped=dropped)


def _read(svc: Services, run: RunRecord) -> ComparedRun:
    steps = svc.store.list_step_runs(run.id)
    prefixed = len(steps) > 1
    tags = run.tags
    label = tags.get("mlflow.runName") or run.description or run.id[:12]
    end = run.ended_at
    duration = (end - run.started_at).total_seconds() if end and run.started_at else None
    out = ComparedRun(run=run, label=label, duration=duration)
    for name, value in run.parameters.items():
        out.params[name] = _text(value)
    out.params.update({k: str(v) for k, v in (run.properties.get(MLFLOW_PARAMS_PROPERTY) or {}).items()})
    out.params.update({k: _text(v) for k, v in _hyperparameters(run).items()})
    values: list[tuple[str, MetricRecord]] = [(m.name, m) for m in svc.store.list_metrics(run.id)
                                              if m.step_run_id is None]
    for step in steps:
        prefix = f"{step.name}/" if prefixed else ""
        out.params.update({prefix + k: str(v) for k, v in (step.properties.get(MLFLOW_PARAMS_PROPERTY) or {}).items()})
        values.extend((prefix + m.name, m) for m in step_metrics(svc, step))
    for name, m in values:
        out.last[name] = m.value
        number = _number(m.value)
        if m.kind == "scalar" and number is not None:
            series = out.series.setdefault(name, [])
            series.append((float(m.step) if m.step is not None else float(len(series)), number))
    return out


def _hyperparameters(run: RunRecord) -> dict[str, Any]:
    """A sweep trial's sampled values (the tag its sweep sets), as parameters."""
    try:
        found = json.loads(run.tags.get(HYPERPARAMETERS_TAG) or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _rows(per_run: list[dict[str, Any]]) -> list[Row]:
    names = sorted({name for values in per_run for name in values})
    return [Row(name, [values.get(name) for values in per_run]) for name in names]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str:
    if isinstance(value, dict):  # a data path parameter
        return f"{value.get('datastore', '')}:{value.get('path', '')}"
    return str(value)


def shown(value: Any) -> str:
    """A parameter or metric value as a cell shows it ("–" for none)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

