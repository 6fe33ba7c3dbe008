"""MLflow's tracking REST API (``/api/2.0/mlflow``) and artifact proxy (``/api/2.0/mlflow-artifacts``).

The subset the ``mlflow`` client uses for experiments, runs, params, metrics, tags and artifacts, over
``services.mlflow_tracking``: ``mlflow.set_tracking_uri("http://server")`` with the headrace token in
``MLFLOW_TRACKING_TOKEN`` is all a client needs. Errors are MLflow's JSON (``error_code``, ``message``;
``server.errors`` answers so for every path under ``/api/2.0/``), which the client turns into its own
exceptions. Each route documents its answer with the models of ``schemas.mlflow``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from headrace.schemas import mlflow as m
from headrace.server.deps import (
    RAW_BODY_DOC,
    RawBody,
    Reader,
    RegisterModel,
    ServicesDep,
    SubmitRun,
    body_doc,
    json_body,
)
from headrace.services import mlflow_artifacts as artifacts
from headrace.services import mlflow_models as models
from headrace.services import mlflow_registry as registry
from headrace.services import mlflow_tracking as tracking

PREFIX = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"

router = APIRouter(tags=["mlflow"])


def artifact_uri(run_id: str) -> str:
    """A run's artifacts, through this server's proxy (the client resolves the scheme against its URI)."""
    return f"mlflow-artifacts:/{run_id}"


def model_artifact_uri(model_id: str) -> str:
    """A logged model's files, through this server's proxy."""
    return f"mlflow-artifacts:/{artifacts.MODELS}/{model_id}/artifacts"


ModelId = Annotated[str, Path(max_length=64)]


def _body(model: type[Any]) -> Any:
    return Depends(json_body(model))


def _ok(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """``responses`` documenting the 200 answer (built as plain JSON: MLflow spells NaN as a string)."""
    return {200: {"model": model, "description": "MLflow's answer"}}


# -- experiments ---------------------------------------------------------------------------
@router.get(f"{PREFIX}/experiments/get-by-name", responses=_ok(m.ExperimentAnswer))
def get_experiment_by_name(experiment_name: Annotated[str, Query(max_length=255)], _: Reader,
                           svc: ServicesDep) -> Any:
    return {"experiment": tracking.get_experiment_by_name(svc, experiment_name)}


@router.get(f"{PREFIX}/experiments/get", responses=_ok(m.ExperimentAnswer))
def get_experiment(experiment_id: Annotated[str, Query(max_length=64)], _: Reader, svc: ServicesDep) -> Any:
    return {"experiment": tracking.experiment_json(tracking.find_experiment(svc, experiment_id))}


@router.post(f"{PREFIX}/experiments/create", openapi_extra=body_doc(m.ExperimentCreate),
              responses=_ok(m.ExperimentCreated))
def create_experiment(_: SubmitRun, body: Annotated[m.ExperimentCreate, _body(m.ExperimentCreate)],
                      svc: ServicesDep) -> Any:
    return {"experiment_id": tracking.create_experiment(svc, body.name)}


@router.post(f"{PREFIX}/experiments/search", openapi_extra=body_doc(m.ExperimentSearch),
              responses=_ok(m.ExperimentsFound))
def search_experiments(_: Reader, body: Annotated[m.ExperimentSearch, _body(m.ExperimentSearch)],
                       svc: ServicesDep) -> Any:
    return {"experiments": tracking.search_experiments(svc, body.max_results)}


# -- runs ----------------------------------------------------------------------------------
@router.post(f"{PREFIX}/runs/create", openapi_extra=body_doc(m.MlflowRunCreate),
              responses=_ok(m.RunAnswer))
def create_run(_: SubmitRun, body: Annotated[m.MlflowRunCreate, _body(m.MlflowRunCreate)],  svc: ServicesDep) -> Any:
    run_id = tracking.create_run(svc, body.experiment_id, start_time=body.start_time, run_name=body.run_name,
                                 tags=[t.model_dump() for t in body.tags], user_id=body.user_id)
    return {"run": tracking.run_json(svc, run_id, artifact_uri)}


@router.get(f"{PREFIX}/runs/get", responses=_ok(m.RunAnswer))
def get_run(_: Reader, svc: ServicesDep, run_id: Annotated[str | None, Query(max_length=64)] = None,
            run_uuid: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    return {"run": tracking.run_json(svc, run_id or run_uuid or "", artifact_uri)}


@router.post(f"{PREFIX}/runs/update", openapi_extra=body_doc(m.MlflowRunUpdate),
              responses=_ok(m.RunUpdated))
def update_run(_: SubmitRun, body: Annotated[m.MlflowRunUpdate, _body(m.MlflowRunUpdate)],  svc: ServicesDep) -> Any:
    tracking.update_run(svc, body.id, status=body.status, end_time=body.end_time, run_name=body.run_name)
    return {"run_info": tracking.run_json(svc, body.id, artifact_uri)["info"]}


@router.post(f"{PREFIX}/runs/search", openapi_extra=body_doc(m.RunSearch),
              responses=_ok(m.RunsFound))
def search_runs(_: Reader, body: Annotated[m.RunSearch, _body(m.RunSearch)],  svc: ServicesDep) -> Any:
    runs, token = tracking.search_runs(svc, body.experiment_ids, artifact_uri, max_results=body.max_results,
                                       page_token=body.page_token, tags=tracking.parse_filter(body.filter))
    return {"runs": runs, **({"next_page_token": token} if token else {})}


@router.post(f"{PREFIX}/runs/log-metric", openapi_extra=body_doc(m.MetricLog),
              responses=_ok(m.Empty))
def log_metric(_: SubmitRun, body: Annotated[m.MetricLog, _body(m.MetricLog)],  svc: ServicesDep) -> Any:
    metric = {"key": body.key, "value": body.value, "timestamp": body.timestamp, "step": body.step,
              "model_id": body.model_id}
    models.log_batch(svc, body.id, metrics=[metric])
    return {}


@router.post(f"{PREFIX}/runs/log-parameter", openapi_extra=body_doc(m.ParamLog),
              responses=_ok(m.Empty))
def log_param(_: SubmitRun, body: Annotated[m.ParamLog, _body(m.ParamLog)],  svc: ServicesDep) -> Any:
    tracking.log_batch(svc, body.id, params=[{"key": body.key, "value": body.value}])
    return {}


@router.post(f"{PREFIX}/runs/set-tag", openapi_extra=body_doc(m.TagSet),
              responses=_ok(m.Empty))
def set_tag(_: SubmitRun, body: Annotated[m.TagSet, _body(m.TagSet)],  svc: ServicesDep) -> Any:
    tracking.set_tags(svc, body.id, {body.key: body.value})
    return {}


@router.post(f"{PREFIX}/runs/delete-tag", openapi_extra=body_doc(m.TagDelete),
              responses=_ok(m.Empty))
def delete_tag(_: SubmitRun, body: Annotated[m.TagDelete, _body(m.TagDelete)],  svc: ServicesDep) -> Any:
    tracking.set_tags(svc, body.id, {}, delete=[body.key])
    return {}


@router.post(f"{PREFIX}/runs/log-batch", openapi_extra=body_doc(m.BatchLog),
              responses=_ok(m.Empty))
def log_batch(_: SubmitRun, body: Annotated[m.BatchLog, _body(m.BatchLog)],  svc: ServicesDep) -> Any:
    models.log_batch(svc, body.id, metrics=[x.model_dump() for x in body.metrics],
                     params=[x.model_dump() for x in body.params], tags=[x.model_dump() for x in body.tags])
    return {}


@router.post(f"{PREFIX}/runs/log-inputs", openapi_extra=body_doc(m.InputsLog), responses=_ok(m.Empty))
def log_inputs(_: SubmitRun, body: Annotated[m.InputsLog, _body(m.InputsLog)], svc: ServicesDep) -> Any:
    """Accepted for ``mlflow.autolog()``, which logs the training data as a dataset input: not kept."""
    tracking.resolve(svc, body.id)
    return {}


@router.get(f"{PREFIX}/metrics/get-history", responses=_ok(m.MetricHistory))
def get_metric_history(metric_key: Annotated[str, Query(max_length=250)], _: Reader, svc: ServicesDep,
                       run_id: Annotated[str | None, Query(max_length=64)] = None,
                       run_uuid: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    return {"metrics": tracking.metric_history(svc, run_id or run_uuid or "", metric_key)}


# -- artifacts -----------------------------------------------------------------------------
@router.get(f"{PREFIX}/artifacts/list", responses=_ok(m.ArtifactList))
def list_run_artifacts(_: Reader, svc: ServicesDep, run_id: Annotated[str | None, Query(max_length=64)] = None,
                       run_uuid: Annotated[str | None, Query(max_length=64)] = None,
                       path: Annotated[str, Query(max_length=1000)] = "") -> Any:
    run = run_id or run_uuid or ""
    prefix = path.strip("/")
    files = [{**f, "path": f"{prefix}/{f['path']}" if prefix else f["path"]}
             for f in artifacts.list_artifacts(svc, run, prefix)]
    return {"root_uri": artifact_uri(run), "files": files}


@router.get(ARTIFACTS, responses=_ok(m.ProxiedArtifactList))
def list_proxied_artifacts(_: Reader, svc: ServicesDep, path: Annotated[str, Query(max_length=1000)] = "") -> Any:
    owner, rest = artifacts.split(path)
    if not owner:
        return {"files": []}
    return {"files": artifacts.list_artifacts(svc, owner, rest)}


@router.get(ARTIFACTS + "/{path:path}", response_class=Response, responses={200: {
    "description": "The file's bytes", "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}})
def download_artifact(path: str, _: Reader, svc: ServicesDep) -> Any:
    owner, rest = artifacts.split(path)
    return Response(artifacts.read_artifact(svc, owner, rest), media_type="application/octet-stream")


@router.put(ARTIFACTS + "/{path:path}", openapi_extra=RAW_BODY_DOC, responses=_ok(m.Empty))
def upload_artifact(_: SubmitRun, path: str, body: RawBody, svc: ServicesDep) -> Any:
    owner, rest = artifacts.split(path)
    artifacts.write_artifact(svc, owner, rest, body)
    return {}


# -- logged models (MLflow 3: log_model, autolog) ---------------------------------------------
def _model(rec: Any) -> dict[str, Any]:
    return {"model": models.model_json(rec, model_artifact_uri)}


@router.post(f"{PREFIX}/logged-models/search", openapi_extra=body_doc(m.LoggedModelSearch),
             responses=_ok(m.LoggedModels))
def search_logged_models(_: Reader, body: Annotated[m.LoggedModelSearch, _body(m.LoggedModelSearch)],
                         svc: ServicesDep) -> Any:
    found, token = models.search(svc, body.experiment_ids, filter_string=body.filter, max_results=body.max_results,
                                 order_by=[o.model_dump() for o in body.order_by], page_token=body.page_token)
    return {"models": [models.model_json(r, model_artifact_uri) for r in found],
            **({"next_page_token": token} if token else {})}


@router.post(f"{PREFIX}/logged-models", openapi_extra=body_doc(m.LoggedModelCreate),
             responses=_ok(m.LoggedModelAnswer))
def create_logged_model(_: SubmitRun, body: Annotated[m.LoggedModelCreate, _body(m.LoggedModelCreate)],
                        svc: ServicesDep) -> Any:
    return _model(models.create(svc, body.experiment_id, name=body.name, source_run_id=body.source_run_id,
                                model_type=body.model_type, tags=[t.model_dump() for t in body.tags],
                                params=[p.model_dump() for p in body.params]))


@router.get(PREFIX + "/logged-models/{model_id}", responses=_ok(m.LoggedModelAnswer))
def get_logged_model(model_id: ModelId, _: Reader, svc: ServicesDep, allow_deleted: bool = False) -> Any:
    return _model(models.get(svc, model_id, allow_deleted=allow_deleted))


@router.patch(PREFIX + "/logged-models/{model_id}", openapi_extra=body_doc(m.LoggedModelFinalize),
              responses=_ok(m.LoggedModelAnswer))
def finalize_logged_model(model_id: ModelId, _: SubmitRun,
                          body: Annotated[m.LoggedModelFinalize, _body(m.LoggedModelFinalize)], svc: ServicesDep) -> Any:
    return _model(models.finalize(svc, model_id, body.status))


@router.delete(PREFIX + "/logged-models/{model_id}", responses=_ok(m.Empty))
def delete_logged_model(model_id: ModelId, _: SubmitRun, svc: ServicesDep) -> Any:
    models.delete(svc, model_id)
    return {}


@router.patch(PREFIX + "/logged-models/{model_id}/tags", openapi_extra=body_doc(m.LoggedModelTags),
              responses=_ok(m.Empty))
def set_logged_model_tags(model_id: ModelId, _: SubmitRun,
                          body: Annotated[m.LoggedModelTags, _body(m.LoggedModelTags)], svc: ServicesDep) -> Any:
    models.set_tags(svc, model_id, [t.model_dump() for t in body.tags])
    return {}


@router.delete(PREFIX + "/logged-models/{model_id}/tags/{tag_key}", responses=_ok(m.Empty))
def delete_logged_model_tag(model_id: ModelId, tag_key: Annotated[str, Path(max_length=250)], _: SubmitRun,
                            svc: ServicesDep) -> Any:
    models.set_tags(svc, model_id, delete=[tag_key])
    return {}


@router.post(PREFIX + "/logged-models/{model_id}/params", openapi_extra=body_doc(m.LoggedModelParams),
             responses=_ok(m.Empty))
def log_logged_model_params(model_id: ModelId, _: SubmitRun,
                            body: Annotated[m.LoggedModelParams, _body(m.LoggedModelParams)], svc: ServicesDep) -> Any:
    models.log_params(svc, model_id, [p.model_dump() for p in body.params])
    return {}


@router.post(f"{PREFIX}/runs/outputs", openapi_extra=body_doc(m.OutputsLog), responses=_ok(m.Empty))
def log_outputs(_: SubmitRun, body: Annotated[m.OutputsLog, _body(m.OutputsLog)], svc: ServicesDep) -> Any:
    models.log_outputs(svc, body.id, [o.model_dump() for o in body.models])
    return {}


@router.post(f"{PREFIX}/runs/log-model", openapi_extra=body_doc(m.ModelLog), responses=_ok(m.Empty))
def log_model(_: SubmitRun, body: Annotated[m.ModelLog, _body(m.ModelLog)], svc: ServicesDep) -> Any:
    """MLflow 2's model history: accepted (the run must exist), not kept apart from the logged model."""
    tracking.resolve(svc, body.id)
    return {}


# -- the model registry: logged models registered as headrace model versions ----------------------
@router.post(f"{PREFIX}/registered-models/create", openapi_extra=body_doc(m.RegisteredModelCreate),
             responses=_ok(m.RegisteredModelAnswer))
def create_registered_model(_: RegisterModel, body: Annotated[m.RegisteredModelCreate, _body(m.RegisteredModelCreate)],
                            svc: ServicesDep) -> Any:
    return {"registered_model": registry.create_registered_model(svc, body.name)}


@router.get(f"{PREFIX}/registered-models/get", responses=_ok(m.RegisteredModelAnswer))
def get_registered_model(name: Annotated[str, Query(max_length=255)], _: Reader, svc: ServicesDep) -> Any:
    return {"registered_model": registry.registered_model_json(svc, name)}


@router.post(f"{PREFIX}/model-versions/create", openapi_extra=body_doc(m.ModelVersionCreate),
             responses=_ok(m.ModelVersionAnswer))
def create_model_version(caller: RegisterModel, body: Annotated[m.ModelVersionCreate, _body(m.ModelVersionCreate)],
                         svc: ServicesDep) -> Any:
    rec = registry.create_version(svc, body.name, source=body.source, model_id=body.model_id,
                                  tags=[t.model_dump() for t in body.tags], description=body.description,
                                  actor=f"token:{caller.name}" if caller is not None else "anonymous")
    return {"model_version": registry.version_json(rec)}


@router.get(f"{PREFIX}/model-versions/get", responses=_ok(m.ModelVersionAnswer))
def get_model_version(name: Annotated[str, Query(max_length=255)], version: Annotated[str, Query(max_length=20)],
                      _: Reader, svc: ServicesDep) -> Any:
    return {"model_version": registry.version_json(registry.get_version(svc, name, version))}


@router.get(f"{PREFIX}/model-versions/get-download-uri", responses=_ok(m.DownloadUri))
def get_model_version_download_uri(name: Annotated[str, Query(max_length=255)],
                                   version: Annotated[str, Query(max_length=20)], _: Reader, svc: ServicesDep) -> Any:
    return {"artifact_uri": registry.download_uri(svc, name, version, model_artifact_uri)}


@router.api_route(PREFIX + "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@router.api_route("/api/3.0/mlflow/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
def not_served(rest: str) -> Any:
    """MLflow's answer to a call headrace does not serve, which the client knows how to fall back from."""
    message = f"headrace does not serve MLflow's {rest!r}"
    if rest.startswith(("registered-models", "model-versions")):
        message += (": of MLflow's model registry, headrace serves registering logged models and reading the "
                    "versions; stages, tags and aliases are headrace's Model API (docs/runs.md, 'Logged models')")
    return JSONResponse({"error_code": "ENDPOINT_NOT_FOUND", "message": message}, status_code=404)
