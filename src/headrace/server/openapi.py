"""The OpenAPI document: FastAPI's, plus the bodies parsed by hand, minus FastAPI's 422 format.

Bodies parsed from raw bytes (``deps.json_body``) are documented through ``openapi_extra`` references;
their schemas are added to ``components`` here. Validation problems answer 400 with the usual error
body, so the 422 responses and schemas FastAPI adds are removed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from headrace.schemas import (
    DefaultVersionUpdate,
    EndpointVersionCreate,
    ErrorResponse,
    GraphCreate,
    PipelineEndpointCreate,
    PublishedPipelineCreate,
    RunCreate,
    RunPublish,
    ScheduleCreate,
    ScheduleUpdate,
    SubmitRequest,
    mlflow,
)
from headrace.schemas.datastores import DatastoreCreate
from headrace.server.deps import BODY_MODELS

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    SubmitRequest, PipelineEndpointCreate, EndpointVersionCreate, DefaultVersionUpdate, RunPublish, GraphCreate,
    RunCreate, PublishedPipelineCreate, DatastoreCreate, ScheduleCreate, ScheduleUpdate,
    mlflow.ExperimentCreate, mlflow.ExperimentSearch, mlflow.MlflowRunCreate, mlflow.MlflowRunUpdate,
    mlflow.RunSearch, mlflow.MetricLog, mlflow.ParamLog, mlflow.TagSet, mlflow.TagDelete, mlflow.BatchLog,
    mlflow.InputsLog,
)

_ERROR = {"model": ErrorResponse}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "Bad request: body, parameter, datastore or path"},
    401: {**_ERROR, "description": "Missing, unknown or revoked token"},
    403: {**_ERROR, "description": "The token's role is too low"},
    404: {**_ERROR, "description": "Unknown id or name"},
    409: {**_ERROR, "description": "Disabled, already exists, or a conflicting state"},
    413: {**_ERROR, "description": "Body over the server's limit"},
    500: {**_ERROR, "description": "Internal error (logged on the server)"},
    507: {**_ERROR, "description": "The metadata store's disk is full: nothing was recorded; retry once freed"},
}

_MLFLOW_ERROR = {"model": mlflow.MlflowError}
MLFLOW_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_MLFLOW_ERROR, "description": "INVALID_PARAMETER_VALUE (a bad body or value), RESOURCE_ALREADY_EXISTS"},
    401: {**_MLFLOW_ERROR, "description": "UNAUTHENTICATED: missing, unknown or revoked token (MLFLOW_TRACKING_TOKEN)"},
    403: {**_MLFLOW_ERROR, "description": "PERMISSION_DENIED: the token's role is too low"},
    404: {**_MLFLOW_ERROR, "description": "RESOURCE_DOES_NOT_EXIST: unknown experiment, run, tag or artifact"},
    413: {**_MLFLOW_ERROR, "description": "INVALID_PARAMETER_VALUE: body over the server's limit"},
    500: {**_MLFLOW_ERROR, "description": "INTERNAL_ERROR (logged on the server)"},
    507: {**_MLFLOW_ERROR, "description": "IO_ERROR: the metadata store's disk is full; retry once freed"},
}
"""The errors of MLflow's paths (``/api/2.0/``), in MLflow's body (``server.errors.mlflow_error_response``)."""

DESCRIPTION = """Self-hosted Azure ML v1 pipelines: publish, version and trigger them over REST.

Send `Authorization: Bearer <token>` (from `headrace token create`). Submission bodies are Azure ML v1's
(`ExperimentName`, `ParameterAssignments`, `DataPathAssignments`, ...), keys matched case-insensitively.
Errors always have the body `{"Error": {"Code", "Message", "Target"}}`, except under MLflow's own paths
(`/api/2.0/mlflow`, for the `mlflow` client), whose errors are MLflow's `{"error_code", "message"}`.
"""


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document served at ``/openapi.json`` (built once per app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (*REQUEST_MODELS, *BODY_MODELS.values()):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = model_schema
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema
