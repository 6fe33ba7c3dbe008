"""MLflow's model registry over headrace's: ``mlflow.register_model("models:/<id>", name)`` and
``log_model(..., registered_model_name=name)`` register a logged model's files as a version of ``Model`` name.

A registered model is a headrace model name (it exists once it has a version), a model version is a
``ModelRecord`` whose files were copied from the logged model's folder (``services.mlflow_models``) and whose
``mlflow.model_id`` property names that logged model. Only logged models are registered this way (a source
``models:/<id>``, or ``runs:/<run>/<name>`` which MLflow resolves to one); the version is READY at once.
Both MLflow front ends call this module, in the JSON shapes of MLflow's REST API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from headrace.core.model import check_name
from headrace.engine.run_files import logged_model_path
from headrace.errors import AlreadyExistsError, NotFoundError, ParameterError
from headrace.services import mlflow_models, model_files
from headrace.services import models as registry
from headrace.services.bundle import Services
from headrace.services.mlflow_tracking import resolve
from headrace.storage.model_records import ModelRecord

MODEL_ID_PROPERTY = "mlflow.model_id"


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def version_json(rec: ModelRecord) -> dict[str, Any]:
    """MLflow's ``ModelVersion`` for a headrace model version."""
    model_id = rec.properties.get(MODEL_ID_PROPERTY)
    out = {"name": rec.name, "version": str(rec.version), "creation_timestamp": _ms(rec.created_at),
           "last_updated_timestamp": _ms(rec.stage_changed_at or rec.created_at), "current_stage": rec.stage,
           "description": rec.description or "", "source": f"models:/{model_id}" if model_id else (rec.source or ""),
           "status": "READY", "tags": [{"key": k, "value": v} for k, v in rec.tags.items()]}
    if rec.run_id:
        out["run_id"] = rec.run_id
    if model_id:
        out["model_id"] = model_id
    return out


def registered_model_json(svc: Services, name: str) -> dict[str, Any]:
    """MLflow's ``RegisteredModel`` for a headrace model name. Raises: NotFoundError."""
    versions = svc.store.list_model_versions(name)
    if not versions:
        raise NotFoundError("registered model", name, "a model name exists once a version is registered")
    latest = versions[-1]
    return {"name": name, "creation_timestamp": _ms(versions[0].created_at),
            "last_updated_timestamp": _ms(latest.created_at), "description": latest.description or "",
            "latest_versions": [version_json(latest)], "tags": []}


def create_registered_model(svc: Services, name: str) -> dict[str, Any]:
    """MLflow creates the name before its first version: headrace keeps names with their versions, so this
    checks the name only.

    Raises:
        AlreadyExistsError: the name has versions (MLflow then adds one).
        ModelError: an invalid name.
    """
    check_name(name)
    if svc.store.list_model_versions(name):
        raise AlreadyExistsError("registered model", name)
    return {"name": name, "tags": [], "description": ""}


def create_version(svc: Services, name: str, *, source: str, model_id: str | None = None,
                   tags: Iterable[dict[str, Any]] = (), description: str | None = None,
                   actor: str | None = None) -> ModelRecord:
    """Register the files of a logged model as the next version of ``name``.

    Raises:
        ParameterError: the source is no logged model (``models:/<id>``).
        NotFoundError: no such logged model, or it has no files.
        ModelError: an invalid name.
    """
    check_name(name)
    if not model_id and source.startswith("models:/") and "/" not in source[len("models:/"):]:
        model_id = source[len("models:/"):]
    if not model_id:
        raise ParameterError(f"cannot register {source!r}: headrace registers MLflow logged models only "
                             "(models:/<model id>, or runs:/<run id>/<model name>)")
    logged = mlflow_models.get(svc, model_id)
    root = logged_model_path(model_id)
    listed = svc.artifacts.list(root, recursive=True) if svc.artifacts.exists(root) else []
    pairs = [(info.path, f"{logged.name}/{info.path[len(root):].lstrip('/')}") for info in listed]
    if not pairs:
        raise NotFoundError("logged model files", model_id, "the model's files were not uploaded (yet)")
    files = model_files.store_from_datastore(svc, svc.artifacts, pairs)
    run = step = None
    if logged.source_run_id:
        try:
            run, step = resolve(svc, logged.source_run_id)
        except NotFoundError:
            pass
    return registry.record_version(
        svc, name=name, root=logged.name, files=files, actor=actor, description=description,
        tags={str(t["key"]): str(t.get("value", "")) for t in tags}, properties={MODEL_ID_PROPERTY: model_id},
        framework=logged.model_type, run_id=run.id if run else None, step_name=step.name if step else None,
        experiment_name=run.experiment_name if run else None, source=f"MLflow logged model {model_id}", stored=True)


def get_version(svc: Services, name: str, version: str | int) -> ModelRecord:
    """Raises: NotFoundError, ParameterError (a version that is not a number)."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ParameterError(f"model version {version!r} is not a number") from None
    return svc.store.get_model_version(name, number)


def download_uri(svc: Services, name: str, version: str | int, model_uri: Callable[[str], str]) -> str:
    """Where MLflow downloads a version from: its logged model's folder.

    Raises:
        NotFoundError: no such version.
        ParameterError: a version registered otherwise (``Model.download`` reads it).
    """
    rec = get_version(svc, name, version)
    model_id = rec.properties.get(MODEL_ID_PROPERTY)
    if not model_id:
        raise ParameterError(f"model {rec.id} was not registered from an MLflow logged model: read it with "
                             "headrace's Model(ws, name, version).download()")
    return model_uri(model_id)
