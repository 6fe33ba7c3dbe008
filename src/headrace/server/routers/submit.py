"""REST submission with the Azure ML v1 body: a published pipeline, or an endpoint by id or by name.

Each route also answers at Azure ML's path (``/PipelineRuns/PipelineSubmit/{id}``,
``/PipelineRuns/PipelineEndpointSubmit/Id/{id}[/{version}]``,
``/PipelineRuns/PipelineEndpointSubmit/Name?name=N[&pipelineVersion=V]``), so URLs built the way
Azure ML's samples build them from ``PipelineEndpoint.endpoint`` reach the same service.

The body (``SubmitRequest``) is parsed from the raw bytes whatever the Content-Type, with keys matched
case-insensitively. A 200 means the run and its step runs are committed (and the in-process agent was
woken); ``Idempotency-Key`` makes a repeat within 24 h return the first run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headrace.schemas import SubmitRequest, SubmitResponse
from headrace.server import convert
from headrace.server.deps import (
    IdempotencyKey,
    ServicesDep,
    SubmitBody,
    SubmitRun,
    UnknownParameters,
    body_doc,
)
from headrace.server.errors import BadRequestError
from headrace.services import endpoints, publishing
from headrace.services.bundle import Services
from headrace.storage.records import PipelineEndpointRecord

router = APIRouter(tags=["submit"])
PipelineVersion = Annotated[
    str | None, Query(alias="pipelineVersion", max_length=20, description="Endpoint version; default: its default.")
]
DOC = body_doc(SubmitRequest)
AZURE = "/PipelineRuns"


@router.post("/pipelines/{pipeline_id}/submit", response_model=SubmitResponse, openapi_extra=DOC)
@router.post(AZURE + "/PipelineSubmit/{pipeline_id}", response_model=SubmitResponse, openapi_extra=DOC)
def submit_pipeline(
    pipeline_id: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None,
    unknown: UnknownParameters = None,
) -> SubmitResponse:
    """Queue a run of a published pipeline (409 when it is disabled)."""
    run, created = publishing.submit_published(
        svc, pipeline_id, body.ExperimentName, idempotency_key=key,
        unknown_parameters=unknown or svc.unknown_parameters, **convert.submit_options(body)
    )
    return convert.submit_response(run, created)


def _submit_endpoint(svc: Services, ep: PipelineEndpointRecord, body: SubmitRequest, key: str | None,
                     version: str | None, unknown: str | None) -> SubmitResponse:
    run, created = endpoints.submit_endpoint(
        svc, ep, body.ExperimentName, pipeline_version=version, idempotency_key=key,
        unknown_parameters=unknown or svc.unknown_parameters, **convert.submit_options(body)
    )
    return convert.submit_response(run, created)


@router.post("/pipeline-endpoints/{endpoint_id}/submit", response_model=SubmitResponse, openapi_extra=DOC)
@router.post(AZURE + "/PipelineEndpointSubmit/Id/{endpoint_id}", response_model=SubmitResponse, openapi_extra=DOC)
def submit_endpoint(
    endpoint_id: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None,
    version: PipelineVersion = None, unknown: UnknownParameters = None,
) -> SubmitResponse:
    """Queue a run of the endpoint's default version, or of ``pipelineVersion``."""
    return _submit_endpoint(svc, endpoints.get_endpoint(svc, endpoint_id), body, key, version, unknown)


@router.post(AZURE + "/PipelineEndpointSubmit/Id/{endpoint_id}/{pipeline_version}", response_model=SubmitResponse,
             openapi_extra=DOC)
def submit_endpoint_version(
    endpoint_id: str, pipeline_version: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody,
    key: IdempotencyKey = None, version: PipelineVersion = None, unknown: UnknownParameters = None,
) -> SubmitResponse:
    """Queue a run of one version (Azure ML's ``{endpoint}/{version}``)."""
    if version is not None and version != pipeline_version:
        raise BadRequestError(f"two versions given: {pipeline_version!r} in the path and {version!r} in pipelineVersion")
    return _submit_endpoint(svc, endpoints.get_endpoint(svc, endpoint_id), body, key, pipeline_version, unknown)


@router.post(AZURE + "/PipelineEndpointSubmit/Name", response_model=SubmitResponse, openapi_extra=DOC)
def submit_endpoint_named(
    name: Annotated[str, Query(min_length=1, description="The endpoint's name.")], _: SubmitRun, svc: ServicesDep,
    body: SubmitBody, key: IdempotencyKey = None, version: PipelineVersion = None,
    unknown: UnknownParameters = None,
) -> SubmitResponse:
    """Azure ML's ``.../PipelineEndpointSubmit/Name?name=N[&pipelineVersion=V]``."""
    return _submit_endpoint(svc, endpoints.get_endpoint(svc, name=name), body, key, version, unknown)


@router.post("/pipeline-endpoints/by-name/{name}/submit", response_model=SubmitResponse, openapi_extra=DOC)
def submit_endpoint_by_name(
    name: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None,
    version: PipelineVersion = None, unknown: UnknownParameters = None,
) -> SubmitResponse:
    """Like ``/pipeline-endpoints/{id}/submit``, naming the endpoint."""
    return _submit_endpoint(svc, endpoints.get_endpoint(svc, name=name), body, key, version, unknown)
