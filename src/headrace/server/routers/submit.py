"""REST submission with the Azure ML v1 body: a published pipeline, or an endpoint by id or by name.

The body (``SubmitRequest``) is parsed from the raw bytes whatever the Content-Type, with keys matched
case-insensitively. A 200 means the run and its step runs are committed (and the in-process agent was
woken); ``Idempotency-Key`` makes a repeat within 24 h return the first run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headrace.schemas import SubmitRequest, SubmitResponse
from headrace.server import convert
from headrace.server.deps import IdempotencyKey, ServicesDep, SubmitBody, SubmitRun, body_doc
from headrace.services import endpoints, publishing

router = APIRouter(tags=["submit"])
PipelineVersion = Annotated[
    str | None, Query(alias="pipelineVersion", max_length=20, description="Endpoint version; default: its default.")
]
DOC = body_doc(SubmitRequest)


@router.post("/pipelines/{pipeline_id}/submit", response_model=SubmitResponse, openapi_extra=DOC)
def submit_pipeline(
    pipeline_id: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None
) -> SubmitResponse:
    """Queue a run of a published pipeline (409 when it is disabled)."""
    run, created = publishing.submit_published(
        svc, pipeline_id, body.ExperimentName, idempotency_key=key, **convert.submit_options(body)
    )
    return convert.submit_response(run, created)


@router.post("/pipeline-endpoints/{endpoint_id}/submit", response_model=SubmitResponse, openapi_extra=DOC)
def submit_endpoint(
    endpoint_id: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None,
    version: PipelineVersion = None,
) -> SubmitResponse:
    """Queue a run of the endpoint's default version, or of ``pipelineVersion``."""
    ep = endpoints.get_endpoint(svc, endpoint_id)
    run, created = endpoints.submit_endpoint(
        svc, ep, body.ExperimentName, pipeline_version=version, idempotency_key=key, **convert.submit_options(body)
    )
    return convert.submit_response(run, created)


@router.post("/pipeline-endpoints/by-name/{name}/submit", response_model=SubmitResponse, openapi_extra=DOC)
def submit_endpoint_by_name(
    name: str, _: SubmitRun, svc: ServicesDep, body: SubmitBody, key: IdempotencyKey = None,
    version: PipelineVersion = None,
) -> SubmitResponse:
    """Like ``/pipeline-endpoints/{id}/submit``, naming the endpoint."""
    ep = endpoints.get_endpoint(svc, name=name)
    run, created = endpoints.submit_endpoint(
        svc, ep, body.ExperimentName, pipeline_version=version, idempotency_key=key, **convert.submit_options(body)
    )
    return convert.submit_response(run, created)
