"""Published pipelines: list, get, enable/disable, and publishing a stored graph (remote SDK)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from headrace.schemas import PublishedPipelineCreate, PublishedPipelineList, PublishedPipelineRead
from headrace.server import convert
from headrace.server.deps import BaseUrl, ChangePublished, Publish, Reader, ServicesDep, body_doc, json_body
from headrace.services import publishing
from headrace.services.bundle import Services
from headrace.storage.records import EntityStatus, PublishedPipelineRecord

router = APIRouter(tags=["published pipelines"])
ActiveOnly = Annotated[bool, Query(alias="activeOnly", description="Hide disabled pipelines.")]


def _read(svc: Services, record: PublishedPipelineRecord, base: str, with_graph: bool = False) -> PublishedPipelineRead:
    return convert.published_read(record, svc.store.get_pipeline(record.pipeline_id).graph, base, with_graph)


@router.get("/pipelines", response_model=PublishedPipelineList)
def list_pipelines(_: Reader, svc: ServicesDep, base: BaseUrl, active_only: ActiveOnly = True) -> PublishedPipelineList:
    """Published pipelines, newest first (``PublishedPipeline.list``)."""
    records = svc.store.list_published_pipelines(active_only=active_only)
    return PublishedPipelineList(Value=[_read(svc, r, base) for r in records])


@router.get("/pipelines/{pipeline_id}", response_model=PublishedPipelineRead)
def get_pipeline(pipeline_id: str, _: Reader, svc: ServicesDep, base: BaseUrl) -> PublishedPipelineRead:
    """One published pipeline with its graph, parameter interface and step names."""
    return _read(svc, svc.store.get_published_pipeline(pipeline_id), base, with_graph=True)


@router.post("/pipelines/{pipeline_id}/enable", response_model=PublishedPipelineRead)
def enable_pipeline(pipeline_id: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl) -> PublishedPipelineRead:
    return _read(svc, publishing.set_status(svc, pipeline_id, EntityStatus.ACTIVE), base)


@router.post("/pipelines/{pipeline_id}/disable", response_model=PublishedPipelineRead)
def disable_pipeline(pipeline_id: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl) -> PublishedPipelineRead:
    """Hide the pipeline and refuse its submissions (409); there is no delete."""
    return _read(svc, publishing.set_status(svc, pipeline_id, EntityStatus.DISABLED), base)


@router.post("/pipelines", response_model=PublishedPipelineRead, openapi_extra=body_doc(PublishedPipelineCreate))
def publish_graph(
    _: Publish, svc: ServicesDep, base: BaseUrl,
    body: Annotated[PublishedPipelineCreate, Depends(json_body(PublishedPipelineCreate))],
) -> PublishedPipelineRead:
    """Publish a graph stored with ``POST /graphs`` (the remote SDK's ``Pipeline.publish``)."""
    record = publishing.publish_graph(
        svc, body.GraphId, name=body.Name, description=body.Description, version=body.Version,
        continue_on_step_failure=body.ContinueRunOnStepFailure,
    )
    return _read(svc, record, base)
