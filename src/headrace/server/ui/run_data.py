"""The data behind the runs list and the run page, read through the services (no HTML here but the charts).

The list never loads more than a page of runs: filters go to the store's ``list_runs``, paging uses
its keyset cursor, and the names shown per row come from the few lists the filter form needs anyway,
so a page costs a bounded number of queries whatever the size of the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from headrace import clock
from headrace.core.parallel_run import Progress
from headrace.engine.compute import MLFLOW_PARAMS_PROPERTY
from headrace.errors import ConfigError, NotFoundError
from headrace.server.ui import charts
from headrace.server.ui.dag import dag_svg
from headrace.server.ui.metric_tables import metric_table
from headrace.services import parallel_runs, tracking
from headrace.services import runs as run_service
from headrace.services.bundle import Services
from headrace.storage.records import (
    MetricRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    RunStatus,
    ScheduleRecord,
    StepRunRecord,
    StepStatus,
)

PAGE_SIZE = 50
MAX_TRAIL = 100  # pages "Previous" can walk back through; beyond, it goes to the first page
LIVE_RUN = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED, RunStatus.RUNNING})
FILTER_NAMES = ("experiment", "published_pipeline_id", "pipeline_endpoint_id", "schedule_id", "status", "created_from",
                "created_to")


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(text: str, what: str, *, end_of_minute: bool = False) -> datetime | None:
    """A ``datetime-local`` value (UTC) as an aware datetime; None when empty.

    With ``end_of_minute``, a value without seconds means the end of that minute (an inclusive "to").

    Raises:
        ConfigError: not a date and time.
    """
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a date and time (use YYYY-MM-DDTHH:MM, UTC)") from None
    if end_of_minute and len(text) <= 16:
        value += timedelta(seconds=59, microseconds=999_999)
    return utc(value)


@dataclass
class RunFilters:
    """What the runs list is narrowed to, as typed in the form (empty: no filter)."""

    experiment: str = ""
    published_pipeline_id: str = ""
    pipeline_endpoint_id: str = ""
    schedule_id: str = ""
    status: str = ""  # "", "active" (queued or running) or a RunStatus value
    created_from: str = ""
    created_to: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> RunFilters:
        return cls(**{name: str(query.get(name, "")).strip() for name in FILTER_NAMES})

    def store_filters(self) -> dict[str, Any]:
        """Keyword arguments of ``list_runs``.

        Raises:
            ConfigError: an unknown status.
        """
        out: dict[str, Any] = {}
        if self.status == "active":
            out["statuses"] = [RunStatus.QUEUED, RunStatus.RUNNING]
        elif self.status:
            try:
                out["statuses"] = [RunStatus(self.status)]
            except ValueError:
                valid = ", ".join(["active", *(s.value for s in RunStatus)])
                raise ConfigError(f"unknown status {self.status!r}; choose one of {valid}") from None
        if self.experiment:
            out["experiment_name"] = self.experiment
        for name in ("published_pipeline_id", "pipeline_endpoint_id", "schedule_id"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """(created from, created to), both inclusive. Raises: ConfigError."""
        low = parse_time(self.created_from, "Created from")
        high = parse_time(self.created_to, "Created to", end_of_minute=True)
        if low and high and low > high:
            raise ConfigError("Created from is after Created to; swap them or clear one")
        return low, high

    def query(self, **extra: str | None) -> str:
        """The query string of this list with ``extra`` parameters (None values left out)."""
        pairs = [(n, getattr(self, n)) for n in FILTER_NAMES if getattr(self, n)]
        pairs += [(k, v) for k, v in extra.items() if v is not None]
        return urlencode(pairs)

    @property
    def any(self) -> bool:
        return any(getattr(self, n) for n in FILTER_NAMES)


@dataclass
class RunRow:
    """One line of the runs list."""

    run: RunRecord
    duration: float | None
    pipeline: str | None
    endpoint: str | None
    schedule: str | None

    @property
    def live(self) -> bool:
        return self.run.status in LIVE_RUN


@dataclass
class Choices:
    """The options of the filter form, which also name what each row points to."""

    experiments: list[str]
    pipelines: dict[str, str]  # id -> "name version"
    endpoints: dict[str, str]
    schedules: dict[str, str]

    def options(self) -> dict[str, list[tuple[str, str]]]:
        """(value, text) pairs of each select of the filter form, sorted by text."""
        def pairs(named: dict[str, str]) -> list[tuple[str, str]]:
            return sorted(named.items(), key=lambda item: (item[1].lower(), item[0]))

        statuses = [("active", "Queued or running")] + [(s.value, s.value) for s in RunStatus]
        return {"experiment": [(e, e) for e in self.experiments], "status": statuses,
                "published_pipeline_id": pairs(self.pipelines), "pipeline_endpoint_id": pairs(self.endpoints),
                "schedule_id": pairs(self.schedules)}


@dataclass
class RunsPage:
    rows: list[RunRow]
    next_query: str | None = None
    prev_query: str | None = None
    first_query: str | None = None
    number: int = 1
    notice: str = ""

    @property
    def live(self) -> bool:
        return any(r.live for r in self.rows)


def choices(svc: Services) -> Choices:
    pipelines = {p.id: _pipeline_label(p) for p in svc.store.list_published_pipelines(active_only=False)}
    eps = {e.id: e.name for e in svc.store.list_pipeline_endpoints(active_only=False)}
    scheds = {s.id: s.name for s in svc.store.list_schedules()}
    return Choices([e.name for e in svc.store.list_experiments()], pipelines, eps, scheds)


def _pipeline_label(p: PublishedPipelineRecord) -> str:
    return f"{p.name} {p.version}" if p.version else p.name


def duration(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    if start is None:
        return None
    return max((utc(end or now) - utc(start)).total_seconds(), 0.0)


def runs_page(svc: Services, filters: RunFilters, names: Choices, cursor: str | None = None,
              back: Sequence[str] | None = None) -> RunsPage:
    """One page of runs, newest first.

    ``cursor`` is the store's cursor of this page (None: the first one); ``back`` the cursors of
    the pages before it ("" for the first), which is how "Previous" works over a forward-only cursor.

    Raises:
        ConfigError: a bad filter value or cursor.
    """
    wanted = filters.store_filters()
    low, high = filters.bounds()
    notice = ""
    page, next_cursor = run_service.list_runs(svc, limit=PAGE_SIZE, cursor=cursor, created_after=low,
                                              created_before=high, **wanted)
    records = page
    now = clock.now()
    rows = [RunRow(r, duration(r.started_at, r.ended_at, now), names.pipelines.get(r.published_pipeline_id or ""),
                   names.endpoints.get(r.pipeline_endpoint_id or ""),
                   names.schedules.get(r.schedule_id or "") or r.tags.get("headrace.schedule"))
            for r in records]
    trail = list(back) if back is not None else None
    out = RunsPage(rows, notice=notice, number=1 + len(trail or []))
    if next_cursor is not None:
        ahead = [*(trail or []), cursor or ""][-MAX_TRAIL:]
        out.next_query = filters.query(cursor=next_cursor, back=",".join(ahead))
    if trail is not None:
        previous = trail[-1]
        earlier = trail[:-1]
        out.prev_query = filters.query(cursor=previous or None, back=",".join(earlier) if earlier else None)
        out.first_query = filters.query()
    return out


def parse_back(value: str | None) -> list[str] | None:
    return None if value is None else value.split(",")


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
    environment: dict[str, Any] | None = None  # the step's environment record in the frozen graph

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
