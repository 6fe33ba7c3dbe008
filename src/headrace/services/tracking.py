"""The Run API on any run: interactive runs, logged values, tags, properties, run files, ending a run.

An interactive run (``Experiment.start_logging``, ``run.child_run()``) is recorded Running at once and
is written by the process that started it; no agent claims it. A run or step run keeps files under
``run_files.files_path(its id)`` in the artifact datastore: what its script left in ``./outputs`` and
``./logs``, what was uploaded, and logged images.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from headrace import clock
from headrace.engine.child_runs import EMPTY_GRAPH
from headrace.engine.run_files import files_path
from headrace.errors import ConfigError, ConflictError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.runs import store_graph
from headrace.storage.records import MetricRecord, RunKind, RunRecord, RunStatus, StepRunRecord

METRIC_KINDS = ("scalar", "row", "table", "image", "confusion_matrix", "accuracy_table", "predictions",
                "residuals")
ENDINGS = {"Completed": RunStatus.COMPLETED, "Failed": RunStatus.FAILED, "Canceled": RunStatus.CANCELED}


def start_run(svc: Services, experiment_name: str, *, kind: RunKind = RunKind.INTERACTIVE,
              parent_run_id: str | None = None, tags: Mapping[str, Any] | None = None,
              properties: Mapping[str, Any] | None = None, description: str | None = None,
              run_source: str = "SDK") -> RunRecord:
    """Record a Running run that no agent executes, written by its caller (``Experiment.start_logging``).

    Raises:
        ConfigError: an invalid experiment name, or a kind an agent executes.
        NotFoundError: ``parent_run_id`` names no run.
    """
    from headrace.services.runs import _check_experiment_name

    _check_experiment_name(experiment_name)
    if kind.agent_runs_it:
        raise ConfigError(f"a {kind.value} run is submitted, not started: use Experiment.submit")
    if parent_run_id is not None:
        svc.store.get_run(parent_run_id)
    pipeline = store_graph(svc, dict(EMPTY_GRAPH))
    experiment = svc.store.get_or_create_experiment(experiment_name)
    now = clock.now()
    run = RunRecord(
        id=uuid.uuid4().hex, experiment_id=experiment.id, experiment_name=experiment.name, pipeline_id=pipeline.id,
        status=RunStatus.RUNNING, created_at=now, started_at=now, parameters={},
        tags={str(k): str(v) for k, v in (tags or {}).items()}, properties=dict(properties or {}),
        description=description, run_source=run_source, kind=kind, parent_run_id=parent_run_id,
    )
    return svc.store.create_run(run, [])


def end_run(svc: Services, run_id: str, status: str, error: str | None = None) -> RunRecord:
    """End a run its caller writes (``complete()``, ``fail()``, ``cancel()``); a run that already ended
    is returned unchanged. Runs an agent executes are cancelled through ``runs.cancel_run``, and their
    ``complete()`` changes nothing (the agent ends them).

    Raises:
        ConfigError: ``status`` is not Completed, Failed or Canceled.
        NotFoundError: no such run.
    """
    if status not in ENDINGS:
        raise ConfigError(f"a run ends Completed, Failed or Canceled, not {status!r}")
    run = svc.store.get_run(run_id)
    if run.status.is_terminal:
        return run
    if run.kind.agent_runs_it:
        if status == "Completed":
            return run
        from headrace.services.runs import cancel_run

        return cancel_run(svc, run_id, fail_with=(error or "failed on request") if status == "Failed" else None)
    if status == "Canceled":
        from headrace.services.runs import cancel_run

        return cancel_run(svc, run_id)  # its children too
    try:
        return svc.store.update_run(run_id, expect=[RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.NOT_STARTED],
                                    status=ENDINGS[status], ended_at=clock.now(), error=error)
    except ConflictError:  # ended meanwhile
        return svc.store.get_run(run_id)


def log_metrics(svc: Services, run_id: str, step_run_id: str | None, items: Iterable[Mapping[str, Any]]) -> int:
    """Append logged values (``{"name", "value", "kind"}``, and ``seq``, the value's number in its series, when the
    caller counts them) to a run or one of its step runs; returns how many.

    Raises:
        NotFoundError: no such run or step run.
        ConfigError: an item without a name, or of an unknown kind.
    """
    owner_check(svc, run_id, step_run_id)
    items = list(items)
    seqs: dict[str, int] = {}
    if not all(isinstance(i.get("seq"), int) for i in items):  # numbered by the caller, or counted here
        for m in svc.store.list_metrics(run_id, step_run_id):
            if m.step_run_id == step_run_id:
                seqs[m.name] = max(seqs.get(m.name, 0), m.seq + 1)
    records = []
    for item in items:
        name, kind = item.get("name"), item.get("kind", "scalar")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a logged value needs a non-empty name, got {name!r}")
        if kind not in METRIC_KINDS:
            raise ConfigError(f"unknown metric kind {kind!r}: one of {', '.join(METRIC_KINDS)}")
        seq = item["seq"] if isinstance(item.get("seq"), int) else seqs.get(name, 0)
        seqs[name] = seq + 1
        records.append(MetricRecord(run_id=run_id, step_run_id=step_run_id, name=name, value=item.get("value"),
                                    kind=kind, seq=seq, logged_at=clock.now()))
    if records:
        svc.store.add_metrics(records)
    return len(records)


def update_tags(svc: Services, run_id: str, step_run_id: str | None, tags: Mapping[str, Any],
                remove: Iterable[str] = ()) -> dict[str, str]:
    """Set (and remove) tags of a run or step run; returns all its tags."""
    owner = owner_check(svc, run_id, step_run_id)
    new = {**owner.tags, **{str(k): "" if v is None else str(v) for k, v in tags.items()}}
    for key in remove:
        new.pop(key, None)
    if step_run_id is None:
        return svc.store.update_run(run_id, tags=new).tags
    return svc.store.update_step_run(step_run_id, tags=new).tags


def add_properties(svc: Services, run_id: str, step_run_id: str | None, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Add properties to a run or step run; returns all of them.

    Raises:
        ConflictError: a property that already has another value (properties are immutable, as in Azure ML).
    """
    owner = owner_check(svc, run_id, step_run_id)
    clash = [k for k, v in properties.items() if k in owner.properties and owner.properties[k] != v]
    if clash:
        raise ConflictError(f"properties cannot change once set: {', '.join(sorted(clash))} already set "
                            f"on {'step run ' + step_run_id if step_run_id else 'run ' + run_id}")
    new = {**owner.properties, **properties}
    if step_run_id is None:
        return svc.store.update_run(run_id, properties=new).properties
    return svc.store.update_step_run(step_run_id, properties=new).properties


def owner_check(svc: Services, run_id: str, step_run_id: str | None) -> RunRecord | StepRunRecord:
    """The run, or the step run (which must belong to it).

    Raises:
        NotFoundError: no such run, or no such step run in it.
    """
    run = svc.store.get_run(run_id)
    if step_run_id is None:
        return run
    step = svc.store.get_step_run(step_run_id)
    if step.run_id != run.id:
        raise NotFoundError("step run", step_run_id, f"it is not a step of run {run_id}")
    return step


# -- files -------------------------------------------------------------------------------
def run_file_names(svc: Services, owner_id: str) -> list[str]:
    """The files kept with a run or step run (by its id), sorted."""
    prefix = files_path(owner_id)
    if not svc.artifacts.exists(prefix):
        return []
    return sorted(posixpath.relpath(info.path, prefix) for info in svc.artifacts.list(prefix, recursive=True))


def read_run_file(svc: Services, owner_id: str, name: str) -> bytes:
    """Raises: NotFoundError naming the run's files."""
    path = _file_path(owner_id, name)
    if not svc.artifacts.exists(path) or svc.artifacts.is_dir(path):
        names = run_file_names(svc, owner_id)
        raise NotFoundError("run file", name, f"files of this run: {', '.join(names) or 'none'}")
    return svc.artifacts.read_bytes(path)


def write_run_file(svc: Services, owner_id: str, name: str, data: bytes) -> str:
    """Keep ``data`` as the run file ``name`` (replacing one of that name); returns the name."""
    svc.artifacts.write_bytes(_file_path(owner_id, name), data)
    return name


def _file_path(owner_id: str, name: str) -> str:
    clean = posixpath.normpath(str(name).replace("\\", "/")).lstrip("/")
    if not clean or clean == "." or clean.startswith(".."):
        raise ConfigError(f"invalid run file name {name!r}: give a relative path such as 'outputs/model.pkl'")
    return f"{files_path(owner_id)}/{clean}"

