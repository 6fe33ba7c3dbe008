"""The ``headrace:`` model registry store: ``mlflow.register_model`` in a notebook over an embedded workspace.

MLflow uses the tracking URI as the registry URI unless told otherwise, so ``ws.get_mlflow_tracking_uri()``
brings this store too (registered through the ``mlflow.model_registry_store`` entry point). It registers
MLflow logged models as versions of headrace's models (``services.mlflow_registry``); the rest of MLflow's
registry (stages, aliases, deletion) is headrace's ``Model`` API and answers an error here.
"""

from __future__ import annotations

from typing import Any

from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.protos import model_registry_pb2
from mlflow.protos.databricks_pb2 import ENDPOINT_NOT_FOUND
from mlflow.store.model_registry.abstract_store import AbstractStore

from headrace.engine.run_files import logged_model_path
from headrace.sdk.mlflow import entities
from headrace.sdk.mlflow.store import _translated, services_for
from headrace.services import mlflow_registry as reg
from headrace.services.models import local_actor

_NOT_SERVED = ("update_registered_model", "rename_registered_model", "delete_registered_model",
               "search_registered_models", "set_registered_model_tag", "delete_registered_model_tag",
               "update_model_version", "transition_model_version_stage", "delete_model_version",
               "set_model_version_tag", "delete_model_version_tag", "set_registered_model_alias",
               "delete_registered_model_alias", "get_model_version_by_alias", "copy_model_version")


def _version(data: dict[str, Any]) -> ModelVersion:
    return ModelVersion.from_proto(entities._parsed(data, model_registry_pb2.ModelVersion()))


class HeadraceRegistryStore(AbstractStore):
    """MLflow's model registry store over an embedded headrace workspace (see the module docstring)."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None):
        super().__init__(store_uri, tracking_uri)
        self.svc = services_for(store_uri or tracking_uri or "")

    def _model_uri(self, model_id: str) -> str:
        path = logged_model_path(model_id)
        local = self.svc.artifacts.local_path(path)
        return f"file://{local}" if local else self.svc.artifacts.uri(path)

    @_translated
    def create_registered_model(self, name: str, tags: Any = None, description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        data = reg.create_registered_model(self.svc, name)
        return RegisteredModel.from_proto(entities._parsed(data, model_registry_pb2.RegisteredModel()))

    @_translated
    def get_registered_model(self, name: str) -> RegisteredModel:
        data = reg.registered_model_json(self.svc, name)
        return RegisteredModel.from_proto(entities._parsed(data, model_registry_pb2.RegisteredModel()))

    @_translated
    def create_model_version(self, name: str, source: str, run_id: str | None = None, tags: Any = None,
                             run_link: str | None = None, description: str | None = None,
                             local_model_path: str | None = None, model_id: str | None = None) -> ModelVersion:
        rec = reg.create_version(self.svc, name, source=source, model_id=model_id, tags=entities.pairs(tags),
                                 description=description, actor=local_actor())
        return _version(reg.version_json(rec))

    @_translated
    def get_model_version(self, name: str, version: Any) -> ModelVersion:
        return _version(reg.version_json(reg.get_version(self.svc, name, version)))

    @_translated
    def get_model_version_download_uri(self, name: str, version: Any) -> str:
        return reg.download_uri(self.svc, name, version, self._model_uri)

    @_translated
    def get_latest_versions(self, name: str, stages: Any = None) -> list[ModelVersion]:
        versions = self.svc.store.list_model_versions(name)
        latest: dict[str, Any] = {}
        for v in versions:
            latest[v.stage] = v
        return [_version(reg.version_json(v)) for stage, v in latest.items() if not stages or stage in stages]


def _not_served(method: str) -> Any:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise MlflowException(f"headrace does not serve MLflow's {method}: use headrace's Model API (stages, "
                              "tags, aliases) on the registered versions", error_code=ENDPOINT_NOT_FOUND)

    call.__name__ = method
    return call


for _method in _NOT_SERVED:
    setattr(HeadraceRegistryStore, _method, _not_served(_method))
