"""MLflow 3's logged models inside a step (``mlflow.<flavor>.log_model``, ``autolog()``), for ``StepTrackingStore``.

Each change of a model is a line of ``logged_models.jsonl`` in the step's context folder and the model's
files go to ``logged-models/<id>/artifacts`` there; reads fold the lines (``engine.logged_models.fold``), so
``load_model("runs:/<step run>/model")`` works in the step itself. When the step ends, the agent uploads the
files and records the models in the step's experiment, where a notebook finds them.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from mlflow.entities import LoggedModel, Metric
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList

from headrace import clock
from headrace.engine import compute as c
from headrace.engine import logged_models
from headrace.errors import HeadraceError
from headrace.sdk.mlflow import entities
from headrace.services import mlflow_models as models


class StepLoggedModels:
    """The logged model calls of MLflow's tracking store, over the step's context folder."""

    # Given by ``StepTrackingStore``, with ``_check(run_id)`` and ``_metrics()``.
    folder: Path
    run_id: str
    experiment_id: str
    _check: Any
    _metrics: Any

    # -- the lines -----------------------------------------------------------------------------
    def _model_line(self, line: dict[str, Any]) -> None:
        with open(self.folder / c.LOGGED_MODELS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps({**line, "at": _now_ms()}, default=str) + "\n")

    def _folded(self) -> dict[str, dict[str, Any]]:
        from headrace.engine.run_files import jsonl

        return {m["id"]: m for m in logged_models.fold(jsonl(self.folder / c.LOGGED_MODELS_FILE))}

    def _found(self, model_id: str, allow_deleted: bool = False) -> dict[str, Any]:
        model = self._folded().get(model_id)
        if model is None or (model["deleted"] and not allow_deleted):
            raise MlflowException(f"logged model {model_id!r} not found: this step logged "
                                  f"{', '.join(self._folded()) or 'no model'}", error_code=RESOURCE_DOES_NOT_EXIST)
        return model

    def _model_uri(self, model_id: str) -> str:
        return f"file://{self.folder / c.LOGGED_MODELS_DIR / model_id / 'artifacts'}"

    def _entity(self, model: dict[str, Any]) -> LoggedModel:
        record = logged_models.to_record(model, self.experiment_id)
        return entities.logged_model(models.model_json(record, self._model_uri))

    # -- MLflow's calls ----------------------------------------------------------------------
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: Any = None, params: Any = None, model_type: str | None = None) -> LoggedModel:
        if source_run_id:
            self._check(source_run_id)
        source_run_id = source_run_id or self.run_id  # with no active run, a step's model is still its run's
        model_id = f"m-{uuid.uuid4().hex}"
        (self.folder / c.LOGGED_MODELS_DIR / model_id / "artifacts").mkdir(parents=True, exist_ok=True)
        self._model_line({"event": "create", "model": {
            "id": model_id, "name": name or "model", "source_run_id": source_run_id,
            "model_type": model_type, "tags": {t.key: t.value for t in tags or []},
            "params": {p.key: p.value for p in params or []}, "created": _now_ms()}})
        return self._entity(self._found(model_id))

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self._entity(self._found(model_id, allow_deleted))

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        self._found(model_id)
        name = str(status)
        if name not in ("READY", "FAILED", "PENDING"):
            raise MlflowException(f"unknown logged model status {status!r}", error_code=INVALID_PARAMETER_VALUE)
        self._model_line({"event": "status", "id": model_id, "status": name})
        return self.get_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        self._found(model_id)
        self._model_line({"event": "tags", "id": model_id, "tags": {t.key: t.value for t in tags or []}})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        if key not in self._found(model_id)["tags"]:
            raise MlflowException(f"logged model {model_id!r} has no tag {key!r}", error_code=RESOURCE_DOES_NOT_EXIST)
        self._model_line({"event": "tags", "id": model_id, "delete": [key]})

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        self._found(model_id)
        self._model_line({"event": "params", "id": model_id, "params": {p.key: p.value for p in params or []}})

    def delete_logged_model(self, model_id: str) -> None:
        self._found(model_id)
        self._model_line({"event": "delete", "id": model_id})

    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             datasets: Any = None, max_results: int | None = None, order_by: Any = None,
                             page_token: str | None = None) -> PagedList[LoggedModel]:
        records = [logged_models.to_record(m, self.experiment_id) for m in self._folded().values() if not m["deleted"]]
        records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        try:
            page, token = models.select(records, filter_string=filter_string, max_results=max_results,
                                        order_by=order_by or (), page_token=page_token)
        except HeadraceError as exc:
            raise entities.mlflow_error(exc) from exc
        return PagedList([entities.logged_model(models.model_json(r, self._model_uri)) for r in page], token)

    def log_outputs(self, run_id: str, models: Any) -> None:
        """Each model names the run that logged it already."""
        self._check(run_id)
        for output in models or []:
            self._found(output.model_id)

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's model history tag: the logged model says it all."""

    def _model_metrics(self, metrics: list[Metric]) -> list[Metric]:
        """Keep metrics naming a model on that model; returns those the run itself still lacks (MLflow repeats
        a run's metrics for the model it logs: one copy stays on the run, as in MLflow's stores)."""
        by_model: dict[str, list[dict[str, Any]]] = {}
        for m in metrics:
            by_model.setdefault(m.model_id, []).append({"key": m.key, "value": _number(m.value),
                                                        "timestamp": m.timestamp, "step": m.step,
                                                        "run_id": self.run_id})
        for model_id, entries in by_model.items():
            self._found(model_id)
            self._model_line({"event": "metrics", "id": model_id, "metrics": entries})
        seen = {(m.key, m.step, m.timestamp, m.value) for m in self._metrics()}
        return [m for m in metrics if (m.key, m.step, m.timestamp, float(m.value)) not in seen]


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


def _number(value: float) -> Any:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value
