"""The ``headrace-step:`` tracking store: ``mlflow`` inside a step logs to the step's own run.

Every step gets ``MLFLOW_TRACKING_URI=headrace-step://<its context folder>`` and ``MLFLOW_RUN_ID=<its step
run id>``, so ``mlflow.log_metric`` / ``mlflow.autolog()`` resume that run with no code change. Values are
appended to the context folder's files exactly as ``Run.get_context()`` writes them (metrics with MLflow's
step and timestamp; params to ``params.jsonl``), artifacts are copied where ``run.upload_file`` puts files, and
the agent records all of it when the step ends: the step needs no database, server or token, so it logs the
same way on any compute target. Reads (``get_run``, ``get_metric_history``) see what the step logged so far.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mlflow.entities import Experiment, Metric, Param, Run, RunInfo, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore

from headrace import clock
from headrace.engine import compute as c
from headrace.sdk.mlflow import entities
from headrace.sdk.mlflow.step_models import StepLoggedModels

RUN_NAME_TAG = "mlflow.runName"


class StepTrackingStore(StepLoggedModels, AbstractStore):
    """MLflow's tracking store for the one run of a step (see the module docstring)."""

    def __init__(self, store_uri: str, artifact_uri: str | None = None):
        super().__init__()
        self.folder = Path(unquote(urlsplit(store_uri).path))
        # A script run's only step is that run in the script (``Run.get_context()`` logs on the run too).
        script = os.environ.get(c.ENV_RUN_KIND) == "script"
        self.scope = "parent" if script else "step"
        self.run_id = os.environ.get(c.ENV_RUN_ID if script else c.ENV_STEP_RUN_ID) or os.environ.get("MLFLOW_RUN_ID", "")
        self.experiment_name = os.environ.get(c.ENV_EXPERIMENT, "")
        self.experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or self.experiment_name
        self.step_name = os.environ.get(c.ENV_STEP_NAME, "")
        self.started = clock.now()

    # -- the context files ---------------------------------------------------------------
    def _append(self, filename: str, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        with open(self.folder / filename, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps({**line, "scope": self.scope}, default=str) + "\n" for line in lines))

    def _read(self, filename: str) -> list[dict[str, Any]]:
        try:
            text = (self.folder / filename).read_text(encoding="utf-8")
        except OSError:
            return []
        out = []
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("scope", "step") == self.scope:
                out.append(line)
        return out

    def _check(self, run_id: str) -> None:
        if run_id != self.run_id:
            raise MlflowException(
                f"run {run_id!r} is not this step's run: inside a headrace step, MLflow logs to the step run "
                f"{self.run_id!r} (MLFLOW_RUN_ID); set MLFLOW_TRACKING_URI in the step's environment_variables to "
                "log elsewhere", error_code=RESOURCE_DOES_NOT_EXIST)

    def _metrics(self) -> list[Metric]:
        out = []
        for n, line in enumerate(self._read(c.METRICS_FILE)):
            value = line.get("value")
            if line.get("kind", "scalar") != "scalar" or isinstance(value, bool) or not isinstance(value, int | float | str):
                continue
            try:
                number = float(value)
            except ValueError:
                continue
            out.append(Metric(str(line["name"]), number, int(line.get("timestamp") or 0),
                              int(line["step"]) if line.get("step") is not None else n))
        return out

    # -- experiments ---------------------------------------------------------------------
    def _experiment(self) -> Experiment:
        return Experiment(self.experiment_id, self.experiment_name, f"file://{self.folder}", "active")

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._experiment()

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        return self._experiment() if experiment_name == self.experiment_name else None

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by: Any = None,
                           page_token: str | None = None) -> PagedList[Experiment]:
        return PagedList([self._experiment()], None)

    def create_experiment(self, name: str, artifact_location: str | None = None, tags: Any = None) -> str:
        raise MlflowException(f"cannot create experiment {name!r} inside a headrace step: the step logs to its own "
                              "run, in its pipeline's experiment", error_code=INVALID_PARAMETER_VALUE)

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        """Experiment tags are not kept."""

    # -- the step's run ------------------------------------------------------------------
    def create_run(self, experiment_id: str, user_id: str, start_time: int, tags: list[RunTag],
                   run_name: str | None) -> Run:
        raise MlflowException("a headrace step logs to its own run (MLFLOW_RUN_ID): nested or new runs are not "
                              "created inside a step; log on the active run instead", error_code=INVALID_PARAMETER_VALUE)

    def get_run(self, run_id: str) -> Run:
        self._check(run_id)
        latest: dict[str, Metric] = {}
        for m in self._metrics():
            latest[m.key] = m
        params = {str(p["key"]): str(p["value"]) for p in reversed(self._read(c.PARAMS_FILE))}
        tags = {str(t["key"]): str(t["value"]) for t in self._read(c.TAGS_FILE)}
        tags.setdefault(RUN_NAME_TAG, self.step_name or run_id)
        return entities.run({
            "info": self._info_json(),
            "data": {"metrics": [entities.metric_json(m) for m in latest.values()],
                     "params": [{"key": k, "value": v} for k, v in params.items()],
                     "tags": [{"key": k, "value": v} for k, v in tags.items()]},
        })

    def _info_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_uuid": self.run_id, "run_name": self.step_name or self.run_id,
                "experiment_id": self.experiment_id, "user_id": "", "status": "RUNNING",
                "start_time": int(self.started.timestamp() * 1000), "lifecycle_stage": "active",
                "artifact_uri": f"file://{self.folder / c.FILES_DIR}"}

    def update_run_info(self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None) -> RunInfo:
        """The step's process decides when its run ends: ``mlflow.end_run()`` changes nothing."""
        self._check(run_id)
        return entities.run_info(self._info_json())

    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        self._check(run_id)
        if any(getattr(m, "model_id", None) for m in metrics):
            metrics = [m for m in metrics if not m.model_id] + self._model_metrics([m for m in metrics if m.model_id])
        logged = {str(p["key"]): str(p["value"]) for p in self._read(c.PARAMS_FILE)}
        for p in params:
            if p.key in logged and logged[p.key] != str(p.value):
                raise MlflowException(f"param {p.key!r} was already logged as {logged[p.key]!r}: MLflow params cannot "
                                      f"change (got {p.value!r})", error_code=INVALID_PARAMETER_VALUE)
        self._append(c.PARAMS_FILE, [{"key": p.key, "value": str(p.value)} for p in params])
        self._append(c.TAGS_FILE, [{"key": t.key, "value": str(t.value)} for t in tags])
        self._append(c.METRICS_FILE, [{"name": m.key, "value": _json_number(m.value), "kind": "scalar",
                                       "step": m.step, "timestamp": m.timestamp} for m in metrics])

    def delete_tag(self, run_id: str, key: str) -> None:
        raise MlflowException("tags cannot be deleted inside a headrace step", error_code=INVALID_PARAMETER_VALUE)

    def get_metric_history(self, run_id: str, metric_key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList[Metric]:
        self._check(run_id)
        history = [m for m in self._metrics() if m.key == metric_key]
        return PagedList(history[:max_results] if max_results else history, None)

    def _search_runs(self, experiment_ids: list[str], filter_string: str, run_view_type: int, max_results: int,
                     order_by: Any, page_token: str | None) -> tuple[list[Run], str | None]:
        return [self.get_run(self.run_id)], None

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        """Dataset and model inputs are not kept."""


def _json_number(value: float) -> Any:
    """NaN and infinities as MLflow spells them in JSON (the agent stores them so)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value
