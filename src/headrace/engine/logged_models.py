"""MLflow logged models a step logged (``mlflow.<flavor>.log_model``, ``autolog()`` inside a step).

A step needs no database: headrace's ``headrace-step:`` tracking store (``sdk.mlflow.step_store``) appends
one line per change of a model to ``logged_models.jsonl`` in the step's context folder and writes the
model's files under ``logged-models/<id>/artifacts``. When the step ends, ``fold`` turns the lines into
models, ``run_files.capture_files`` uploads their files to where every logged model's files live
(``run_files.logged_model_path``) and the agent records them (``record``) in the run's experiment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from headrace import clock
from headrace.errors import AlreadyExistsError
from headrace.storage.base import MetadataStore
from headrace.storage.model_records import LoggedModelRecord
from headrace.storage.records import RunRecord


def fold(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The models the lines describe, in creation order: ``{"id", "name", "source_run_id", "model_type",
    "status", "tags", "params", "metrics", "deleted", "created", "updated"}`` (times in epoch ms).

    A line is ``{"event": "create", "model": {...}}`` or ``{"event": <change>, "id", "at", ...}`` with change
    ``tags`` (``tags``, ``delete``), ``params`` (``params``), ``status`` (``status``), ``metrics``
    (``metrics``) or ``delete``; a line naming no created model is ignored.
    """
    models: dict[str, dict[str, Any]] = {}
    for line in lines:
        event = line.get("event")
        if event == "create" and isinstance(line.get("model"), dict):
            model = dict(line["model"])
            model.update(tags=dict(model.get("tags") or {}), params=dict(model.get("params") or {}), metrics=[],
                         status="PENDING", deleted=False, updated=model.get("created"))
            models[str(model["id"])] = model
            continue
        model = models.get(str(line.get("id")))
        if model is None:
            continue
        model["updated"] = line.get("at") or model["updated"]
        if event == "tags":
            model["tags"].update(line.get("tags") or {})
            for key in line.get("delete") or []:
                model["tags"].pop(key, None)
        elif event == "params":
            model["params"].update(line.get("params") or {})
        elif event == "status":
            model["status"] = str(line.get("status"))
        elif event == "metrics":
            model["metrics"].extend(line.get("metrics") or [])
        elif event == "delete":
            model["deleted"] = True
    return list(models.values())


def to_record(m: dict[str, Any], experiment_id: str) -> LoggedModelRecord:
    """A folded model (``fold``) as the record it becomes in ``experiment_id``."""
    return LoggedModelRecord(
        id=str(m["id"]), experiment_id=experiment_id, name=str(m.get("name") or "model"),
        source_run_id=m.get("source_run_id"), model_type=m.get("model_type"), status=str(m.get("status")),
        tags={str(k): str(v) for k, v in m["tags"].items()}, params={str(k): str(v) for k, v in m["params"].items()},
        metrics=list(m["metrics"]), deleted=bool(m.get("deleted")), created_at=_at(m.get("created")),
        updated_at=_at(m.get("updated")))


def record(store: MetadataStore, run: RunRecord, models: Iterable[dict[str, Any]]) -> None:
    """Record the models a step of ``run`` logged (``fold``), in the run's experiment; a model recorded
    before (a retried end) is brought up to date."""
    for m in models:
        rec = to_record(m, run.experiment_id)
        try:
            store.add_logged_model(rec)
        except AlreadyExistsError:
            store.update_logged_model(rec.id, status=rec.status, tags=rec.tags, params=rec.params,
                                      metrics=rec.metrics, deleted=rec.deleted, updated_at=rec.updated_at)


def _at(ms: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return clock.now()
