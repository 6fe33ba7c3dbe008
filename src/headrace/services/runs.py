"""Submitting, reading and cancelling pipeline runs."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from headrace import clock
from headrace.datastores.snapshots import store_snapshot
from headrace.engine.run_ending import FAIL_REQUESTED
from headrace.engine.runner import log_path
from headrace.errors import ConfigError, DefinitionError, HeadraceError, NotFoundError
from headrace.logs import get_logger
from headrace.services import compute_dask
from headrace.services.bundle import Services
from headrace.services.compute import check_graph_compute
from headrace.services.datastores import default_datastore_name, get_datastore
from headrace.services.parameters import drop_unknown, resolve_parameters
from headrace.storage.records import (
    MetricRecord,
    PipelineRecord,
    RunKind,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from headrace.storage.run_records import WARNINGS_PROPERTY

logger = get_logger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
LOG_NAMES = {"stdout": "stdout.txt", "stderr": "stderr.txt", "execution": "execution.log"}


def freeze_pipeline(svc: Services, pipeline: Any) -> PipelineRecord:
    """Validate a pipeline definition, snapshot its source folders and store its graph.

    Raises:
        DefinitionError: the definition has problems (all of them are listed), or names compute
            targets that do not exist.
    """
    graph = pipeline.graph()
    check_graph_datastores(svc, graph)
    check_graph_compute(svc, graph)
    pin_graph_datasets(svc, graph)
    done: dict[str, str] = {}  # one snapshot per source folder: 64 steps of one folder cost one store lookup
    for step in graph["steps"]:
        if step.get("snapshot"):
            continue  # a module version's, taken when it was published
        try:
            folder = step["source_directory"]
            if folder not in done:
                done[folder] = store_snapshot(folder, svc.artifacts)
            step["snapshot"] = done[folder]
        except HeadraceError as exc:
            raise DefinitionError([f"step {step['name']!r}: cannot snapshot its source_directory: {exc}"]) from exc
    return store_graph(svc, graph)


def pin_graph_datasets(svc: Services, graph: dict[str, Any]) -> None:
    """Pin every dataset a step input names directly (not through a parameter) to a version, in place.

    A pipeline's data is fixed when it is frozen; a dataset given through a ``PipelineParameter`` is pinned
    at each submission instead (so a published pipeline reads the files as they are when it runs).

    Raises:
        DefinitionError: a dataset that cannot be pinned (unknown, or matching no file), naming the input.
    """
    from headrace.services import datasets

    problems = []
    for name, spec in graph["data"].items():
        if spec.get("kind") == "dataset" and "dataset" in spec:
            try:
                spec["dataset"] = datasets.pin(svc, spec["dataset"])
            except HeadraceError as exc:
                problems.append(f"dataset input {name!r}: {exc}")
    if problems:
        raise DefinitionError(problems)


def check_graph_datastores(svc: Services, graph: dict[str, Any]) -> None:
    """Give ``PipelineData`` without a datastore the default one (in place) and check every datastore
    and data path the graph names.

    Raises:
        DefinitionError: unknown datastores or paths leaving their datastore (all are listed).
    """
    problems = []
    default = None
    for name, spec in graph["data"].items():
        if spec.get("kind") == "pipeline_data" and not spec.get("datastore"):
            default = default or default_datastore_name(svc)
            spec["datastore"] = default
        ds_name = spec.get("datastore")
        if ds_name:
            try:
                ds = get_datastore(svc, ds_name)
            except NotFoundError as exc:
                problems.append(f"data {name!r}: {exc}; register it with Datastore.register_local(...)")
                continue
            if spec.get("kind") == "datapath":
                problems.extend(_path_problems(ds, spec["path"], f"data {name!r}"))
    for pname, spec in graph["parameters"].items():
        if spec["type"] == "datapath":
            try:
                ds = get_datastore(svc, spec["default"]["datastore"])
            except NotFoundError as exc:
                problems.append(f"parameter {pname!r}: {exc}")
                continue
            problems.extend(_path_problems(ds, spec["default"]["path"], f"parameter {pname!r} (default)"))
    if problems:
        raise DefinitionError(problems)


def store_graph(svc: Services, graph: dict[str, Any]) -> PipelineRecord:
    """Store a checked graph whose steps carry their ``snapshot`` hashes, deduplicated by content hash."""
    blob = json.dumps(graph, sort_keys=True, separators=(",", ":"))
    return svc.store.get_or_create_pipeline(hashlib.sha256(blob.encode()).hexdigest(), graph)


def _path_problems(ds: Any, path: str, what: str) -> list[str]:
    try:
        ds.uri(path)  # rejects paths that leave the datastore root
    except HeadraceError as exc:
        return [f"{what}: {exc}"]
    return []


def submit_pipeline(svc: Services, pipeline: Any, experiment_name: str, **options: Any) -> RunRecord:
    """Freeze ``pipeline`` and queue a run of it. See ``submit_frozen`` for ``options``."""
    return submit_frozen(svc, freeze_pipeline(svc, pipeline), experiment_name, **options)


def submit_frozen(
    svc: Services,
    pipeline: PipelineRecord,
    experiment_name: str,
    *,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool = False,
    regenerate_outputs: bool = False,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    run_source: str = "SDK",
    properties: Mapping[str, Any] | None = None,
    published_pipeline_id: str | None = None,
    pipeline_endpoint_id: str | None = None,
    pipeline_endpoint_version: str | None = None,
    idempotency_key: str | None = None,
    return_created: bool = False,
    run_id: str | None = None,
    schedule_fire: tuple[str, str] | None = None,
    trigger_fire: tuple[str, str, Any] | None = None,
    unknown_parameters: str = "error",
    kind: RunKind = RunKind.PIPELINE,
    parent_run_id: str | None = None,
) -> Any:
    """Queue a run of a stored pipeline: the run and all its step runs are recorded before anything starts.

    With ``idempotency_key``, a repeat within ``IDEMPOTENCY_WINDOW`` returns the first run instead
    (racing repeats included). ``schedule_fire`` = (schedule id, fire key) does the same for a
    schedule's fire, with no time window, and ``trigger_fire`` = (trigger id, event id, its tick or None)
    for an event trigger's fire. With ``return_created``, returns (run, created).
    ``unknown_parameters="warn"`` drops undeclared parameters instead of refusing them and records
    the warning in the run's ``headrace.warnings`` property (the REST routes pass the server's setting).
    ``kind`` is "script" for a script run (a one-step graph, see ``ScriptRunConfig``), whose ``parent_run_id``
    may name a sweep.

    Raises:
        ParameterError: an unknown parameter or a value of the wrong type.
        ConfigError: an invalid experiment name.
    """
    _check_experiment_name(experiment_name)
    if not RunKind(kind).agent_runs_it or (kind == RunKind.SCRIPT and len(pipeline.graph["steps"]) != 1):
        raise ConfigError(f"cannot submit a {RunKind(kind).value} run of a graph of {len(pipeline.graph['steps'])} "
                          "step(s): a script run has exactly one step; interactive runs are started, not submitted")
    properties = dict(properties or {})
    if unknown_parameters == "warn":
        pipeline_parameters, warning = drop_unknown(pipeline.graph["parameters"], pipeline_parameters)
        if warning:
            logger.warning("run for experiment %s: %s", experiment_name, warning)
            properties[WARNINGS_PROPERTY] = warning
    parameters = resolve_parameters(svc, pipeline.graph["parameters"], pipeline_parameters)
    compute_dask.check_run(svc, pipeline.graph, parameters)
    experiment = svc.store.get_or_create_experiment(experiment_name)
    now = clock.now()
    run_id = run_id or uuid.uuid4().hex
    run = RunRecord(
        id=run_id, experiment_id=experiment.id, experiment_name=experiment.name, pipeline_id=pipeline.id,
        status=RunStatus.QUEUED, created_at=now, parameters=parameters,
        tags={str(k): str(v) for k, v in (tags or {}).items()}, description=description,
        run_source=run_source, continue_on_step_failure=bool(continue_on_step_failure),
        regenerate_outputs=bool(regenerate_outputs), properties=properties,
        published_pipeline_id=published_pipeline_id, pipeline_endpoint_id=pipeline_endpoint_id,
        pipeline_endpoint_version=pipeline_endpoint_version,
        schedule_id=schedule_fire[0] if schedule_fire else None, kind=RunKind(kind), parent_run_id=parent_run_id,
    )
    steps = [
        StepRunRecord(id=uuid.uuid4().hex, run_id=run_id, name=s["name"], status=StepStatus.NOT_STARTED,
                      created_at=now)
        for s in pipeline.graph["steps"]
    ]
    if schedule_fire is not None:
        record, created = svc.store.create_scheduled_run(run, steps, fire_key=schedule_fire[1])
    elif trigger_fire is not None:
        record, created = svc.store.create_triggered_run(run, steps, trigger_id=trigger_fire[0],
                                                         fire_key=trigger_fire[1], tick=trigger_fire[2])
    elif idempotency_key is None:
        record, created = svc.store.create_run(run, steps), True
    else:
        scope = f"{published_pipeline_id or pipeline.id}|{pipeline_endpoint_id or ''}|{idempotency_key}"
        record, created = svc.store.create_run_once(
            run, steps, key=hashlib.sha256(scope.encode()).hexdigest(), not_before=now - IDEMPOTENCY_WINDOW
        )
    if created:
        from headrace.services import datasets

        datasets.record_run_uses(svc, pipeline.graph, record.id, parameters)
        svc.notify_queued(record.id)
    return (record, created) if return_created else record


def _check_experiment_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ConfigError(f"invalid experiment name {name!r}: give a non-empty name of at most 255 characters")


def cancel_run(svc: Services, run_id: str, fail_with: str | None = None) -> RunRecord:
    """Cancel a run: a queued run ends Canceled at once; a running one is stopped by its agent.

    With ``fail_with`` (``run.fail()`` on a run an agent executes) it ends Failed with that error instead.
    A run that already ended is returned unchanged.
    """
    run = svc.store.get_run(run_id)
    if run.status.is_terminal:
        return run
    if not run.kind.agent_runs_it:  # an interactive or sweep run: no agent to stop, it ends here
        for child in svc.store.list_runs(parent_run_id=run_id, limit=1000)[0]:
            cancel_run(svc, child.id)
        try:
            return svc.store.update_run(run_id, expect=[RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.NOT_STARTED],
                                        status=RunStatus.CANCELED, cancel_requested=True, ended_at=clock.now(),
                                        error="canceled on request")
        except HeadraceError:
            return svc.store.get_run(run_id)
    if run.status in (RunStatus.QUEUED, RunStatus.NOT_STARTED):
        try:
            run = svc.store.update_run(run_id, expect=[RunStatus.QUEUED, RunStatus.NOT_STARTED],
                                       status=RunStatus.CANCELED if fail_with is None else RunStatus.FAILED,
                                       cancel_requested=True, ended_at=clock.now(),
                                       error=fail_with or "canceled on request before it started")
        except HeadraceError:
            run = svc.store.get_run(run_id)  # claimed meanwhile: fall through to the running case
        else:
            for step in svc.store.list_step_runs(run_id):
                if not step.status.is_terminal:
                    svc.store.update_step_run(step.id, status=StepStatus.CANCELED, ended_at=clock.now(),
                                              error="not run: the run was canceled")
            return run
    if fail_with is not None:  # its agent stops it, and ends it Failed (``RunState``) with this error
        return svc.store.update_run(run_id, cancel_requested=True, error=FAIL_REQUESTED + fail_with)
    return svc.store.update_run(run_id, cancel_requested=True)


def get_step_run(svc: Services, run_id: str, step: str) -> StepRunRecord:
    """A step run by step name or step run id.

    Raises:
        NotFoundError: no such run, or no such step in the run (the message lists its steps).
    """
    steps = svc.store.list_step_runs(run_id)
    if not steps:
        svc.store.get_run(run_id)  # an unknown run is named as such, not as a missing step
    for s in steps:
        if s.name == step or s.id == step:
            return s
    names = ", ".join(s.name for s in steps)
    raise NotFoundError("step", step, f"steps of run {run_id}: {names}")


def read_step_log(svc: Services, step: StepRunRecord, which: str = "stdout") -> str:
    """The text of a step run's log (``stdout``, ``stderr`` or ``execution``).

    A reused step has its own execution log; its stdout/stderr are those of the step run it reused.
    """
    path = step_log_path(svc, step, which)
    return svc.artifacts.read_bytes(path).decode("utf-8", "replace") if path else ""


def step_log_path(svc: Services, step: StepRunRecord, which: str = "stdout") -> str | None:
    """Where a step run's log is in ``svc.artifacts`` (that of the reused step run for a reused step's
    stdout/stderr), or None when it has none yet; for readers that take it in pieces.

    Raises:
        ConfigError: ``which`` is not a log name.
    """
    if which not in LOG_NAMES:
        raise ConfigError(f"unknown log {which!r}: choose one of {', '.join(LOG_NAMES)}")
    path = f"{log_path(step.run_id, step.id)}/{LOG_NAMES[which]}"
    if svc.artifacts.exists(path):
        return path
    if step.reused_from and which != "execution":
        return step_log_path(svc, svc.store.get_step_run(step.reused_from), which)
    return None


def step_metrics(svc: Services, step: StepRunRecord) -> list[MetricRecord]:
    """Metrics a step run logged (for a reused step: those of the step run it reused)."""
    if step.reused_from:
        origin = svc.store.get_step_run(step.reused_from)
        return svc.store.list_metrics(origin.run_id, origin.id)
    return svc.store.list_metrics(step.run_id, step.id)


def metrics_dict(metrics: list[MetricRecord]) -> dict[str, Any]:
    """name -> value, or a list of values for a name logged more than once (Azure ML's shape)."""
    grouped: dict[str, list[Any]] = {}
    for m in metrics:
        grouped.setdefault(m.name, []).append(m.value)
    return {k: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}


def pipeline_metrics(svc: Services, run_id: str) -> dict[str, Any]:
    """Values logged on the pipeline run itself (``run.parent.log``), as ``metrics_dict`` gives them.

    Raises:
        NotFoundError: no such run.
    """
    svc.store.get_run(run_id)
    return metrics_dict([m for m in svc.store.list_metrics(run_id) if m.step_run_id is None])


def list_runs(svc: Services, *, limit: int = 100, cursor: str | None = None, **filters: Any) -> tuple[list[RunRecord], str | None]:
    """A page of runs, newest first (``filters`` as ``MetadataStore.list_runs``).

    Raises:
        ConfigError: ``limit`` below 1 or a cursor no previous page returned.
    """
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    try:
        return svc.store.list_runs(limit=limit, cursor=cursor, **filters)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
