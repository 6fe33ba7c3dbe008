"""The data behind the run page, read through the services (no HTML here but the charts and the graph).

The runs list lives in ``run_list_data``; its names are re-exported here for the routes that use them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup

from headrace import clock
from headrace.core.parallel_run import Progress
from headrace.engine.compute import MLFLOW_PARAMS_PROPERTY
from headrace.errors import NotFoundError
from headrace.server.ui import charts
from headrace.server.ui.dag import dag_svg
from headrace.server.ui.metric_tables import metric_table
from headrace.server.ui.run_list_data import (
    FILTER_NAMES,
    LIVE_RUN,
    MAX_TRAIL,
    PAGE_SIZE,
    Choices,
    RunFilters,
    RunRow,
    RunsPage,
    choices,
    duration,
    parse_back,
    parse_time,
    runs_page,
    utc,
)
from headrace.services import parallel_runs, tracking
from headrace.services.bundle import Services
from headrace.storage.model_records import LoggedModelRecord
from headrace.storage.records import (
    MetricRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    ScheduleRecord,
    StepRunRecord,
    StepStatus,
)

__all__ = [
    "FILTER_NAMES",
    "LIVE_RUN",
    "MAX_TRAIL",
    "PAGE_SIZE",
    "Choices",
    "MetricView",
    "RunFilters",
    "RunRow",
    "RunView",
    "RunsPage",
    "StepView",
    "anchor",
    "choices",
    "display_status",
    "duration",
    "metric_views",
    "parameter_rows",
    "parse_back",
    "parse_time",
    "run_view",
    "runs_page",
    "utc",
    "value_text",
]

# -- the run page -------------------------------------------------------------------------------


@dataclass
class MetricView:
    """A metric of a run or a step: its values in logging order, and a plot for a numeric series."""

    name: str
    values: list[Any]
    plot: Markup | None = None
    kind: str = "scalar"  # how it was logged: scalar, row, table, image, confusion_matrix, accuracy_table...

    @property
    def last(self) -> Any:
        return self.values[-1]

    @property
    def table(self) -> tuple[list[str], list[list[str]]] | None:
        """Columns and rows of a logged table, or None."""
        return metric_table(self.kind, self.values)

    @property
    def last_text(self) -> str:
        return value_text(self.last)


@dataclass
class StepView:
    record: StepRunRecord
    anchor: str
    status: str  # the step's status, or "Reused" for a finished reused step
    duration: float | None
    reused_run_id: str | None = None
    metrics: list[MetricView] = field(default_factory=list)
    outputs: list[tuple[str, str, str]] = field(default_factory=list)  # name, datastore, path
    progress: Progress | None = None  # a ParallelRunStep's mini-batches
    files: list[str] = field(default_factory=list)  # files kept with the step run
    logged_models: list[LoggedModelRecord] = field(default_factory=list)  # MLflow models the step logged
    environment: dict[str, Any] | None = None  # the step's environment record in the frozen graph
    children: list[RunRecord] = field(default_factory=list)  # runs its script started (a HyperDriveStep's sweep)

    @property
    def live(self) -> bool:
        return not self.record.status.is_terminal


@dataclass
class RunView:
    run: RunRecord
    steps: list[StepView]
    graph: dict[str, Any]
    gantt: Markup
    duration: float | None
    parameters: list[tuple[str, str]]
    metrics: list[MetricView]
    published: PublishedPipelineRecord | None = None
    endpoint: PipelineEndpointRecord | None = None
    schedule: ScheduleRecord | None = None
    dag: Markup | None = None
    files: list[str] = field(default_factory=list)  # files kept with the run (outputs, uploads, images)
    children: list[RunRecord] = field(default_factory=list)
    logged_models: list[LoggedModelRecord] = field(default_factory=list)  # MLflow models the run logged

    @property
    def live(self) -> bool:
        return self.run.status in LIVE_RUN

    @property
    def statuses(self) -> dict[str, str]:
        return {s.record.name: s.status for s in self.steps}

    @property
    def links(self) -> dict[str, str]:
        return {s.record.name: f"#{s.anchor}" for s in self.steps}


def anchor(name: str) -> str:
    """The id of a step's section on the run page."""
    return "step-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def display_status(step: StepRunRecord) -> str:
    if step.is_reused and step.status is StepStatus.FINISHED:
        return "Reused"
    return step.status.value


def run_view(svc: Services, run_id: str) -> RunView:
    """Everything the run page shows. Raises: NotFoundError (no such run)."""
    run = svc.store.get_run(run_id)
    records = svc.store.list_step_runs(run_id)
    metrics = svc.store.list_metrics(run_id)
    by_step: dict[str | None, list[MetricRecord]] = {}
    for m in metrics:
        by_step.setdefault(m.step_run_id, []).append(m)
    now = clock.now()
    graph = svc.store.get_pipeline(run.pipeline_id).graph
    parallel = {s["name"] for s in graph.get("steps", []) if parallel_runs.is_parallel_step(s)}
    envs = {s["name"]: s["environment"] for s in graph.get("steps", []) if s.get("environment")}
    steps = []
    for rec in records:
        view = StepView(rec, anchor(rec.name), display_status(rec), duration(rec.started_at, rec.ended_at, now),
                        outputs=[(n, o.get("datastore", ""), o.get("path", "")) for n, o in sorted(rec.outputs.items())])
        own = by_step.get(rec.id, [])
        origin = _maybe(svc.store.get_step_run, rec.reused_from)
        if origin is not None:
            view.reused_run_id = origin.run_id
            own = own or svc.store.list_metrics(origin.run_id, origin.id)  # what the reused step logged
        view.metrics = metric_views(own)
        view.files = tracking.run_file_names(svc, rec.id)
        view.logged_models = svc.store.list_logged_models(source_run_id=rec.id)[0]
        if rec.started_at is not None and not rec.is_reused:
            view.children = svc.store.list_runs(parent_run_id=rec.id, limit=50)[0]
        if rec.name in parallel:
            view.progress = parallel_runs.step_progress(svc, rec)
        env = envs.get(rec.name)
        if env is not None:  # the requirements without pip's option lines (--find-links ...)
            view.environment = dict(env, packages=[p for p in env["spec"].get("pip") or [] if not p.startswith("-")])
        steps.append(view)
    zero = utc(run.started_at or min((s.started_at for s in records if s.started_at), default=run.created_at))
    bars = [charts.Bar(s.name, _offset(s.started_at, zero), _offset(s.ended_at or (s.started_at and now), zero),
                       s.status.value, s.is_reused) for s in records]
    view = RunView(run, steps, graph, charts.gantt(bars),
                   duration(run.started_at, run.ended_at, now),
                   parameter_rows({**run.parameters, **(run.properties.get(MLFLOW_PARAMS_PROPERTY) or {})}),
                   metric_views(by_step.get(None, [])))
    view.published = _maybe(svc.store.get_published_pipeline, run.published_pipeline_id)
    view.endpoint = _maybe(svc.store.get_pipeline_endpoint, run.pipeline_endpoint_id)
    view.schedule = _maybe(svc.store.get_schedule, run.schedule_id)
    view.files = tracking.run_file_names(svc, run.id)
    view.logged_models = svc.store.list_logged_models(source_run_id=run.id)[0]
    view.children = svc.store.list_runs(parent_run_id=run.id, limit=500)[0]
    view.dag = dag_svg(view.graph, statuses=view.statuses, links=view.links, title="Pipeline graph of this run",
                       parameter_values=run.parameters)
    return view


def _offset(when: datetime | None, origin: datetime) -> float | None:
    return None if when is None else max((utc(when) - origin).total_seconds(), 0.0)


def _maybe(get: Any, key: str | None) -> Any:
    if not key:
        return None
    try:
        return get(key)
    except NotFoundError:  # deleted since: the page shows the id alone
        return None


def metric_views(metrics: Sequence[MetricRecord]) -> list[MetricView]:
    """Values grouped by name (first-logged order; the store lists them in logging order), with a plot
    for numeric series."""
    grouped: dict[str, list[Any]] = {}
    kinds: dict[str, str] = {}
    for m in metrics:
        grouped.setdefault(m.name, []).append(m.value)
        kinds[m.name] = m.kind
    out = []
    for name, values in grouped.items():
        plot = charts.line_plot(values, title=name) if len(values) > 1 and kinds[name] == "scalar" else None
        out.append(MetricView(name, values, plot, kinds[name]))
    return out


def value_text(value: Any) -> str:
    """A parameter or metric value as shown on the page: strings as they are, data paths as ``store:path``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"datastore", "path"}:
        return f"{value['datastore']}:{value['path']}"
    return json.dumps(value, default=str)


def parameter_rows(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, value_text(value)) for name, value in sorted(parameters.items())]
