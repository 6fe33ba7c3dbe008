"""The ``headrace:`` tracking store: MLflow in a notebook over an embedded workspace, no server running.

``mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())`` gives ``headrace:///path/to/home``; MLflow then
builds this store, which calls ``headrace.services.mlflow_tracking`` on the workspace's own services (the
ones the ``Workspace`` of that home uses in this process, or new ones over the home). Artifacts are the
run's files, written straight into the workspace's artifact store.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from mlflow.entities import Experiment, LoggedModel, Metric, Param, Run, RunInfo, RunTag, ViewType
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore

from headrace.engine.run_files import files_path, logged_model_path
from headrace.errors import ConfigError, HeadraceError, NotFoundError
from headrace.sdk.mlflow import entities
from headrace.services import mlflow_models as models
from headrace.services import mlflow_tracking as tracking
from headrace.services.bundle import Services

SCHEME = "headrace"
F = TypeVar("F", bound=Callable[..., Any])


def tracking_uri(home: Any) -> str:
    """The MLflow tracking URI of the embedded workspace at ``home``."""
    from pathlib import Path

    return f"{SCHEME}://{Path(home).resolve().as_posix()}"


def services_for(store_uri: str) -> Services:
    """The services of the workspace a ``headrace:`` URI names (shared with its ``Workspace`` in this process).

    Raises:
        ConfigError: the URI names no folder.
    """
    from pathlib import Path

    from headrace.config import load_settings
    from headrace.sdk import local

    path = unquote(urlsplit(store_uri).path)
    if not path:
        raise ConfigError(f"MLflow tracking URI {store_uri!r} names no workspace home: use "
                          "ws.get_mlflow_tracking_uri() (headrace:///path/to/home)")
    home = Path(path).resolve()
    with local._backends_lock:
        for (backend_home, _db), backend in local._backends.items():
            if Path(backend_home).resolve() == home:
                return backend.svc
    return local.local_backend(load_settings(home=home)).svc


def _translated(method: F) -> F:
    @wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except HeadraceError as exc:
            raise entities.mlflow_error(exc) from exc

    return call  # type: ignore[return-value]


class HeadraceTrackingStore(AbstractStore):
    """MLflow's tracking store over an embedded headrace workspace (see the module docstring)."""

    def __init__(self, store_uri: str, artifact_uri: str | None = None):
        super().__init__()
        self.svc = services_for(store_uri)

    def _artifact_uri(self, run_id: str) -> str:
        return self._location(files_path(run_id))

    def _model_uri(self, model_id: str) -> str:
        return self._location(logged_model_path(model_id))

    def _location(self, path: str) -> str:
        local = self.svc.artifacts.local_path(path)
        return f"file://{local}" if local else self.svc.artifacts.uri(path)

    def _model(self, rec: Any) -> LoggedModel:
        return entities.logged_model(models.model_json(rec, self._model_uri))

    def _run(self, run_id: str) -> Run:
        return entities.run(tracking.run_json(self.svc, run_id, self._artifact_uri))

    # -- experiments ---------------------------------------------------------------------
    @_translated
    def get_experiment(self, experiment_id: str) -> Experiment:
        return entities.experiment(tracking.experiment_json(tracking.find_experiment(self.svc, experiment_id)))

    @_translated
    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        try:
            return entities.experiment(tracking.get_experiment_by_name(self.svc, experiment_name))
        except NotFoundError:
            return None

    @_translated
    def create_experiment(self, name: str, artifact_location: str | None = None, tags: Any = None) -> str:
        return tracking.create_experiment(self.svc, name)

    @_translated
    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by: Any = None,
                           page_token: str | None = None) -> PagedList[Experiment]:
        found = tracking.search_experiments(self.svc, max_results)
        return PagedList([entities.experiment(e) for e in found], None)

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        """Experiment tags are not kept (headrace experiments are names)."""

    # -- runs ----------------------------------------------------------------------------
    @_translated
    def create_run(self, experiment_id: str, user_id: str, start_time: int, tags: list[RunTag],
                   run_name: str | None) -> Run:
        run_id = tracking.create_run(self.svc, experiment_id, start_time=start_time, run_name=run_name,
                                     tags=[{"key": t.key, "value": t.value} for t in tags or []], user_id=user_id)
        return self._run(run_id)

    @_translated
    def get_run(self, run_id: str) -> Run:
        return self._run(run_id)

    @_translated
    def update_run_info(self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None) -> RunInfo:
        from mlflow.entities import RunStatus

        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        tracking.update_run(self.svc, run_id, status=status, end_time=end_time, run_name=run_name)
        return self._run(run_id).info

    @_translated
    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        models.log_batch(self.svc, run_id, metrics=[entities.metric_json(m) for m in metrics],
                         params=entities.pairs(params), tags=entities.pairs(tags))

    @_translated
    def delete_tag(self, run_id: str, key: str) -> None:
        tracking.set_tags(self.svc, run_id, {}, delete=[key])

    @_translated
    def get_metric_history(self, run_id: str, metric_key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList[Metric]:
        history = [entities.metric(m) for m in tracking.metric_history(self.svc, run_id, metric_key)]
        return PagedList(history[:max_results] if max_results else history, None)

    @_translated
    def _search_runs(self, experiment_ids: list[str], filter_string: str, run_view_type: int, max_results: int,
                     order_by: Any, page_token: str | None) -> tuple[list[Run], str | None]:
        found, token = tracking.search_runs(self.svc, experiment_ids, self._artifact_uri, max_results=max_results,
                                            page_token=page_token, tags=tracking.parse_filter(filter_string))
        return [entities.run(r) for r in found], token

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        """Dataset and model inputs are not kept."""

    # -- logged models (MLflow 3: ``log_model``, ``autolog()``) -------------------------------
    @_translated
    def log_outputs(self, run_id: str, models: Any) -> None:
        _log_outputs(self.svc, run_id, models)

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's model history tag: the logged model record says it all."""

    @_translated
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: Any = None, params: Any = None, model_type: str | None = None) -> LoggedModel:
        return self._model(models.create(self.svc, experiment_id, name=name, source_run_id=source_run_id,
                                         model_type=model_type, tags=entities.pairs(tags),
                                         params=entities.pairs(params)))

    @_translated
    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        models.log_params(self.svc, model_id, entities.pairs(params))

    @_translated
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self._model(models.get(self.svc, model_id, allow_deleted=allow_deleted))

    @_translated
    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        return self._model(models.finalize(self.svc, model_id, status))

    @_translated
    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        models.set_tags(self.svc, model_id, entities.pairs(tags))

    @_translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        models.set_tags(self.svc, model_id, delete=[key])

    @_translated
    def delete_logged_model(self, model_id: str) -> None:
        models.delete(self.svc, model_id)

    @_translated
    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             datasets: Any = None, max_results: int | None = None, order_by: Any = None,
                             page_token: str | None = None) -> PagedList[LoggedModel]:
        found, token = models.search(self.svc, experiment_ids, filter_string=filter_string, max_results=max_results,
                                     order_by=order_by or (), page_token=page_token)
        return PagedList([self._model(m) for m in found], token)


def _log_outputs(svc: Services, run_id: str, outputs: Any) -> None:
    models.log_outputs(svc, run_id, [{"model_id": o.model_id, "step": o.step} for o in outputs or []])
