"""The data behind the experiments pages, read through the store (no HTML here).

The list counts the runs of the experiments on its page in one grouped query and reads each one's
last run (one indexed query each). An experiment's page reads one page of runs with the store's cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from headrace.errors import NotFoundError
from headrace.services.bundle import Services
from headrace.storage.records import ExperimentRecord, RunRecord, RunStatus

EXPERIMENTS_PER_PAGE = 25
RUNS_PER_PAGE = 50
SOURCES = {"API": "REST", "SDK": "SDK", "Schedule": "Schedule"}


@dataclass
class ExperimentRow:
    """One line of the experiments list."""

    name: str
    created_at: datetime
    runs: int
    more_runs: bool  # unused now that the store counts; kept for the template
    last_run: RunRecord | None


@dataclass
class ExperimentList:
    rows: list[ExperimentRow]
    total: int
    page: int
    pages: int


@dataclass
class Ran:
    """What a run ran: a published pipeline or an endpoint version, with a link when there is a page."""

    text: str
    href: str | None
    kind: str


@dataclass
class RunRow:
    """One run on an experiment's page."""

    run: RunRecord
    source: str
    ran: Ran
    schedule_name: str | None


@dataclass
class ExperimentRuns:
    experiment: ExperimentRecord
    rows: list[RunRow]
    next_cursor: str | None


def experiment_list(svc: Services, *, query: str = "", page: int = 1) -> ExperimentList:
    """Experiments by name, filtered by a case-insensitive name search, with their run counts and last
    run; ``EXPERIMENTS_PER_PAGE`` per page."""
    needle = query.strip().lower()
    found = [e for e in svc.store.list_experiments() if needle in e.name.lower()]
    pages = max(1, -(-len(found) // EXPERIMENTS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = found[(page - 1) * EXPERIMENTS_PER_PAGE: page * EXPERIMENTS_PER_PAGE]
    counts = svc.store.count_runs_by_experiment([e.name for e in shown])
    rows = []
    for e in shown:
        last, _ = svc.store.list_runs(experiment_name=e.name, limit=1)
        rows.append(ExperimentRow(e.name, e.created_at, counts.get(e.name, 0), False, last[0] if last else None))
    return ExperimentList(rows=rows, total=len(found), page=page, pages=pages)


def parse_status(value: str) -> RunStatus | None:
    """A run status from a filter value (any case); None for "all" or an unknown value."""
    for status in RunStatus:
        if value.lower() == status.value.lower():
            return status
    return None


def experiment_runs(svc: Services, name: str, *, status: RunStatus | None = None,
                    before: str | None = None) -> ExperimentRuns:
    """One page of an experiment's runs, newest first, from cursor ``before``.

    Raises:
        NotFoundError: no such experiment.
        ValueError: ``before`` is not a cursor this store gave.
    """
    experiment = svc.store.get_experiment(name)
    runs, cursor = svc.store.list_runs(experiment_name=name, statuses=[status] if status else None,
                                       limit=RUNS_PER_PAGE, cursor=before or None)
    names = _Names(svc)
    rows = [RunRow(run, SOURCES.get(run.run_source, run.run_source), names.ran(run),
                   run.tags.get("headrace.schedule") or (run.schedule_id and run.schedule_id[:8]))
            for run in runs]
    return ExperimentRuns(experiment, rows, cursor)


class _Names:
    """Names of published pipelines and endpoints, each looked up once per page."""

    def __init__(self, svc: Services):
        self.svc = svc
        self.seen: dict[tuple[str, str], str | None] = {}

    def _name(self, kind: str, key: str) -> str | None:
        if (kind, key) not in self.seen:
            try:
                record = (self.svc.store.get_pipeline_endpoint(key) if kind == "endpoint"
                          else self.svc.store.get_published_pipeline(key))
                self.seen[kind, key] = record.name
            except NotFoundError:
                self.seen[kind, key] = None
        return self.seen[kind, key]

    def ran(self, run: RunRecord) -> Ran:
        if run.pipeline_endpoint_id:
            name = self._name("endpoint", run.pipeline_endpoint_id) or run.pipeline_endpoint_id[:8]
            version = f" v{run.pipeline_endpoint_version}" if run.pipeline_endpoint_version else ""
            return Ran(name + version, f"/endpoints/{run.pipeline_endpoint_id}", "Pipeline endpoint")
        if run.published_pipeline_id:
            name = self._name("pipeline", run.published_pipeline_id) or run.published_pipeline_id[:8]
            return Ran(name, f"/pipelines/{run.published_pipeline_id}", "Published pipeline")
        return Ran("pipeline " + run.pipeline_id[:8], None, "Submitted pipeline (not published)")
