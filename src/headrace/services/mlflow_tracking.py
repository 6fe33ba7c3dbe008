"""MLflow's tracking model over headrace's own records: experiments, runs, params, metrics, tags, artifacts.

Both MLflow front ends call this module: the REST routes under ``/api/2.0/mlflow`` (``server.routers.mlflow``)
and the tracking-store plugin of an embedded workspace (``headrace.sdk.mlflow``). Values go in and out in
the JSON shapes of MLflow's REST API, which the MLflow client parses either way.

The mapping:

- an MLflow experiment is the headrace experiment of the same name (experiment id "0", MLflow's default,
  is the experiment "Default");
- an MLflow run id is a headrace run id (pipeline run or a run an MLflow client created) or a step run id;
- params are the run's (or step run's) ``mlflow.params`` property, immutable as MLflow's; a pipeline
  run shows its pipeline parameters as params too;
- metrics are headrace metrics of kind "scalar" with MLflow's step and timestamp;
- tags are the run's tags; artifacts are the run's files (``services.mlflow_artifacts``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from headrace import clock
from headrace.engine.compute import MLFLOW_PARAMS_PROPERTY
from headrace.errors import AlreadyExistsError, ConfigError, NotFoundError, ParameterError
from headrace.services.bundle import Services
from headrace.services.runs import step_metrics
from headrace.services.tracking import start_run
from headrace.storage.records import (
    ExperimentRecord,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"

_TO_MLFLOW = {
    RunStatus.NOT_STARTED: "SCHEDULED", RunStatus.QUEUED: "SCHEDULED", RunStatus.RUNNING: "RUNNING",
    RunStatus.FINISHED: "FINISHED", RunStatus.COMPLETED: "FINISHED", RunStatus.FAILED: "FAILED",
    RunStatus.CANCELED: "KILLED",
}
_FROM_MLFLOW = {"RUNNING": RunStatus.RUNNING, "SCHEDULED": RunStatus.QUEUED, "FINISHED": RunStatus.COMPLETED,
                "FAILED": RunStatus.FAILED, "KILLED": RunStatus.CANCELED}

ArtifactUri = Callable[[str], str]
"""Run id -> the ``artifact_uri`` a client is given for it (the REST API and the plugin differ)."""


# -- experiments ---------------------------------------------------------------------------
def experiment_json(rec: ExperimentRecord) -> dict[str, Any]:
    ms = _ms(rec.created_at)
    return {"experiment_id": rec.id, "name": rec.name, "artifact_location": f"mlflow-artifacts:/{rec.id}",
            "lifecycle_stage": "active", "creation_time": ms, "last_update_time": ms, "tags": []}


def find_experiment(svc: Services, experiment_id: str) -> ExperimentRecord:
    """The experiment with this MLflow id ("0": the experiment "Default", created when first asked for).

    Raises:
        NotFoundError: no such experiment.
    """
    if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
        return svc.store.get_or_create_experiment(DEFAULT_EXPERIMENT_NAME)
    for rec in svc.store.list_experiments():
        if rec.id == experiment_id:
            return rec
    raise NotFoundError("experiment", str(experiment_id), "MLflow experiment ids are headrace experiment ids")


def get_experiment_by_name(svc: Services, name: str) -> dict[str, Any]:
    """Raises: NotFoundError."""
    return experiment_json(svc.store.get_experiment(name))


def create_experiment(svc: Services, name: str) -> str:
    """Create the headrace experiment ``name``; returns its id.

    Raises:
        AlreadyExistsError: it exists (MLflow's ``set_experiment`` then uses it).
        ConfigError: an empty or too long name.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ConfigError(f"invalid experiment name {name!r}: give a non-empty name of at most 255 characters")
    try:
        svc.store.get_experiment(name)
    except NotFoundError:
        return svc.store.get_or_create_experiment(name).id
    raise AlreadyExistsError("experiment", name)


def search_experiments(svc: Services, max_results: int | None = None) -> list[dict[str, Any]]:
    found = [experiment_json(rec) for rec in svc.store.list_experiments()]
    return found[:max_results] if max_results else found


# -- runs ----------------------------------------------------------------------------------
def resolve(svc: Services, run_id: str) -> tuple[RunRecord, StepRunRecord | None]:
    """The run an MLflow run id names: a run, or a step run with its pipeline run.

    Raises:
        NotFoundError: neither a run nor a step run has this id.
    """
    try:
        return svc.store.get_run(run_id), None
    except NotFoundError:
        pass
    try:
        step = svc.store.get_step_run(run_id)
    except NotFoundError:
        raise NotFoundError("run", run_id, "an MLflow run id is a headrace run or step run id") from None
    return svc.store.get_run(step.run_id), step


def create_run(svc: Services, experiment_id: str, *, start_time: int | None = None,
               tags: Iterable[dict[str, Any]] = (), run_name: str | None = None,
               user_id: str | None = None) -> str:
    """An interactive run an MLflow client writes (``mlflow.start_run()`` outside a step); returns its id.

    A ``mlflow.parentRunId`` tag naming a run makes the new run its child (``mlflow.start_run(nested=True)``).
    """
    experiment = find_experiment(svc, experiment_id)
    tag_map = {str(t["key"]): str(t.get("value", "")) for t in tags}
    if run_name:
        tag_map.setdefault(RUN_NAME_TAG, run_name)
    if user_id:
        tag_map.setdefault("mlflow.user", user_id)
    parent = tag_map.get(PARENT_TAG)
    if parent is not None:
        try:
            svc.store.get_run(parent)
        except NotFoundError:
            parent = None  # a step run's nested run: kept as a tag only
    run = start_run(svc, experiment.name, tags=tag_map, parent_run_id=parent, run_source="MLflow",
                    description=tag_map.get("mlflow.note.content"))
    started = _from_ms(start_time)
    if started is not None:
        run = svc.store.update_run(run.id, started_at=started)
    return run.id


def owned_by_client(run: RunRecord) -> bool:
    """Whether an MLflow client (not an agent) decides this run's status."""
    return not run.kind.agent_runs_it


def run_json(svc: Services, run_id: str, artifact_uri: ArtifactUri) -> dict[str, Any]:
    """MLflow's ``Run`` (info, data) for a run or step run id. Raises: NotFoundError."""
    run, step = resolve(svc, run_id)
    target: Any = step or run
    tags = dict(target.tags)
    name = tags.get(RUN_NAME_TAG) or (step.name if step else run.id)
    metrics = step_metrics(svc, step) if step else [m for m in svc.store.list_metrics(run.id) if m.step_run_id is None]
    latest: dict[str, dict[str, Any]] = {}
    for m in metrics:
        value = _number(m)
        if value is not None:
            latest[m.name] = _metric_json(m, value)
    params = {} if step else {k: _param_text(v) for k, v in run.parameters.items()}
    params.update(target.properties.get(MLFLOW_PARAMS_PROPERTY) or {})
    info = {
        "run_id": target.id, "run_uuid": target.id, "run_name": name, "experiment_id": run.experiment_id,
        "user_id": tags.get("mlflow.user", ""), "status": _TO_MLFLOW.get(target.status, "FINISHED"),
        "start_time": _ms(target.started_at or target.created_at), "artifact_uri": artifact_uri(target.id),
        "lifecycle_stage": "active",
    }
    if target.ended_at is not None:
        info["end_time"] = _ms(target.ended_at)
    data = {"metrics": list(latest.values()), "params": [{"key": k, "value": str(v)} for k, v in params.items()],
            "tags": [{"key": k, "value": v} for k, v in {**tags, RUN_NAME_TAG: name}.items()]}
    return {"info": info, "data": data, "inputs": {}}


def update_run(svc: Services, run_id: str, *, status: str | None = None, end_time: int | None = None,
               run_name: str | None = None) -> None:
    """Change a run's status (runs an MLflow client created only: an agent decides the others') or name.

    Raises:
        NotFoundError: no such run.
        ParameterError: an unknown status.
    """
    run, step = resolve(svc, run_id)
    if run_name:
        set_tags(svc, run_id, {RUN_NAME_TAG: run_name})
    if status is None or step is not None or not owned_by_client(run):
        return  # a step script ending its MLflow run does not end the step: its process does
    if status not in _FROM_MLFLOW:
        raise ParameterError(f"unknown run status {status!r}: use one of {', '.join(_FROM_MLFLOW)}")
    new = _FROM_MLFLOW[status]
    if new is RunStatus.QUEUED:
        return  # a run a client writes is never queued: no agent would take it
    ended = (_from_ms(end_time) or clock.now()) if new.is_terminal else None
    svc.store.update_run(run.id, status=new, ended_at=ended)


def log_batch(svc: Services, run_id: str, *, metrics: Iterable[dict[str, Any]] = (),
              params: Iterable[dict[str, Any]] = (), tags: Iterable[dict[str, Any]] = ()) -> None:
    """Record metrics (with step and timestamp), params and tags on a run or step run.

    Raises:
        NotFoundError: no such run.
        ParameterError: a param logged again with another value, or a metric that is not a number.
    """
    run, step = resolve(svc, run_id)
    metrics, params, tags = list(metrics), list(params), list(tags)
    if params:
        _log_params(svc, run, step, {str(p["key"]): str(p.get("value", "")) for p in params})
    if tags:
        set_tags(svc, run_id, {str(t["key"]): str(t.get("value", "")) for t in tags})
    if metrics:
        _log_metrics(svc, run, step, metrics)


def set_tags(svc: Services, run_id: str, tags: dict[str, str], *, delete: Iterable[str] = ()) -> None:
    """Set (and remove) tags of a run or step run. Raises: NotFoundError."""
    run, step = resolve(svc, run_id)
    current = dict((step or run).tags)
    current.update(tags)
    for key in delete:
        if key not in current:
            raise NotFoundError("tag", key, f"tags of run {run_id}: {', '.join(sorted(current)) or 'none'}")
        current.pop(key)
    if step is not None:
        svc.store.update_step_run(step.id, tags=current)
    else:
        svc.store.update_run(run.id, tags=current)


def metric_history(svc: Services, run_id: str, key: str) -> list[dict[str, Any]]:
    """Every value of metric ``key``, in logging order. Raises: NotFoundError."""
    run, step = resolve(svc, run_id)
    metrics = step_metrics(svc, step) if step else svc.store.list_metrics(run.id)
    out = []
    for m in metrics:
        value = _number(m)
        if m.name == key and value is not None and (step is not None or m.step_run_id is None):
            out.append(_metric_json(m, value))
    return out


def search_runs(svc: Services, experiment_ids: Iterable[str], artifact_uri: ArtifactUri, *,
                max_results: int = 1000, page_token: str | None = None,
                tags: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Runs of these experiments, newest first (step runs are reached through their pipeline run)."""
    names = [find_experiment(svc, e).name for e in experiment_ids]
    if len(names) == 1:
        page, cursor = svc.store.list_runs(experiment_name=names[0], limit=max_results, cursor=page_token, tags=tags)
    else:  # several experiments: one page, newest first across them
        page = [r for name in names for r in svc.store.list_runs(experiment_name=name, limit=max_results,
                                                                  tags=tags)[0]]
        page, cursor = sorted(page, key=lambda r: r.created_at, reverse=True)[:max_results], None
    return [run_json(svc, r.id, artifact_uri) for r in page], cursor


_FILTER = re.compile(r"""^\s*(tags|tag|attributes|attribute)\.(?:"([^"]+)"|`([^`]+)`|([\w.\-]+))\s*=\s*'([^']*)'\s*$""")


def parse_filter(text: str | None) -> dict[str, str]:
    """The tags a ``search_runs`` filter asks for: ``tags.k = 'v'`` clauses joined by AND (and
    ``attributes.run_name = 'x'``, the ``mlflow.runName`` tag).

    Raises:
        ParameterError: a filter of another form (headrace answers only these).
    """
    wanted: dict[str, str] = {}
    for clause in re.split(r"\s+(?i:and)\s+", (text or "").strip()) if text and text.strip() else []:
        found = _FILTER.match(clause)
        if found is None:
            raise ParameterError(f"unsupported search filter {clause!r}: headrace answers tags.<key> = '<value>' "
                                 "and attributes.run_name = '<name>' clauses joined by AND")
        kind, key, value = found.group(1), found.group(2) or found.group(3) or found.group(4), found.group(5)
        if kind.startswith("attribute"):
            if key != "run_name":
                raise ParameterError(f"unsupported search filter {clause!r}: of attributes, only run_name")
            key = RUN_NAME_TAG
        wanted[key] = value
    return wanted


# -- helpers -------------------------------------------------------------------------------
def _log_params(svc: Services, run: RunRecord, step: StepRunRecord | None, params: dict[str, str]) -> None:
    target: Any = step or run
    current = dict(target.properties.get(MLFLOW_PARAMS_PROPERTY) or {})
    for key, value in params.items():
        if key in current and current[key] != value:
            raise ParameterError(f"param {key!r} was already logged as {current[key]!r} on run {target.id}: "
                                 f"MLflow params cannot change (got {value!r})")
        current[key] = value
    props = {**target.properties, MLFLOW_PARAMS_PROPERTY: current}
    if step is not None:
        svc.store.update_step_run(step.id, properties=props)
    else:
        svc.store.update_run(run.id, properties=props)


def _log_metrics(svc: Services, run: RunRecord, step: StepRunRecord | None, metrics: list[dict[str, Any]]) -> None:
    step_id = step.id if step else None
    seqs = svc.store.next_metric_seqs(run.id, step_id, [str(m.get("key", "")) for m in metrics])
    records = []
    for m in metrics:
        name = str(m.get("key", ""))
        if not name:
            raise ParameterError("a metric needs a key")
        value = _stored_value(m.get("value"), name)
        seq = seqs.get(name, 0)
        seqs[name] = seq + 1
        records.append(MetricRecord(run.id, step_id, name, value, "scalar", seq,
                                    _from_ms(m.get("timestamp")) or clock.now(), step=int(m.get("step") or 0)))
    svc.store.add_metrics(records)


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _stored_value(value: Any, name: str) -> Any:
    """A metric value as JSON can hold it: NaN and infinities as MLflow spells them in JSON."""
    if isinstance(value, str) and value in _SPECIAL:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"metric {name!r}: {value!r} is not a number") from None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return int(number) if isinstance(value, int) and not isinstance(value, bool) else number


def _number(m: MetricRecord) -> float | None:
    """A metric's value as MLflow shows it; None for values MLflow has no place for (rows, text)."""
    if m.kind != "scalar":
        return None
    if isinstance(m.value, bool):
        return float(m.value)
    if isinstance(m.value, int | float):
        return float(m.value)
    if isinstance(m.value, str) and m.value in _SPECIAL:
        return _SPECIAL[m.value]
    return None


def _metric_json(m: MetricRecord, value: float) -> dict[str, Any]:
    shown: Any = value if math.isfinite(value) else ("NaN" if math.isnan(value) else
                                                     ("Infinity" if value > 0 else "-Infinity"))
    return {"key": m.name, "value": shown, "timestamp": _ms(m.logged_at),
            "step": m.step if m.step is not None else m.seq}


def _param_text(value: Any) -> str:
    if isinstance(value, dict):  # a data path parameter
        return str(value.get("path", json.dumps(value, sort_keys=True)))
    return str(value)


def _ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _from_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None

