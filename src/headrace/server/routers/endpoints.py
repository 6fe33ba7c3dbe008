"""Pipeline endpoints: list, get (by id or name), create, add versions, set the default, status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from headrace.schemas import (
    DefaultVersionUpdate,
    EndpointNameUpdate,
    EndpointVersionCreate,
    PipelineEndpointCreate,
    PipelineEndpointList,
    PipelineEndpointRead,
)
from headrace.server import convert
from headrace.server.deps import (
    BaseUrl,
    ChangePublished,
    ManageEndpoints,
    Reader,
    ServicesDep,
    body_doc,
    json_body,
)
from headrace.services import endpoints
from headrace.storage.records import EntityStatus

router = APIRouter(prefix="/pipeline-endpoints", tags=["pipeline endpoints"])
ActiveOnly = Annotated[bool, Query(alias="activeOnly", description="Hide disabled endpoints.")]
Read = PipelineEndpointRead


@router.get("", response_model=PipelineEndpointList)
def list_endpoints(_: Reader, svc: ServicesDep, base: BaseUrl, active_only: ActiveOnly = True) -> PipelineEndpointList:
    records = svc.store.list_pipeline_endpoints(active_only=active_only)
    return PipelineEndpointList(Value=[convert.endpoint_read(r, base) for r in records])


@router.get("/by-name/{name}", response_model=Read)
def get_endpoint_by_name(name: str, _: Reader, svc: ServicesDep, base: BaseUrl) -> Read:
    return convert.endpoint_read(endpoints.get_endpoint(svc, name=name), base)


@router.get("/{endpoint_id}", response_model=Read)
def get_endpoint(endpoint_id: str, _: Reader, svc: ServicesDep, base: BaseUrl) -> Read:
    return convert.endpoint_read(endpoints.get_endpoint(svc, endpoint_id), base)


@router.post("", response_model=Read, openapi_extra=body_doc(PipelineEndpointCreate))
def create_endpoint(
    _: ManageEndpoints, svc: ServicesDep, base: BaseUrl,
    body: Annotated[PipelineEndpointCreate, Depends(json_body(PipelineEndpointCreate))],
) -> Read:
    """Create an endpoint whose version "0" (the default) is ``PipelineId`` (409 if the name is taken)."""
    record = endpoints.publish_endpoint(svc, name=body.Name, published_pipeline_id=body.PipelineId,
                                        description=body.Description)
    return convert.endpoint_read(record, base)


@router.post("/{endpoint_id}/versions", response_model=Read, openapi_extra=body_doc(EndpointVersionCreate))
def add_version(
    endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl,
    body: Annotated[EndpointVersionCreate, Depends(json_body(EndpointVersionCreate))],
) -> Read:
    """Add a published pipeline as the next version ("max + 1"), optionally making it the default."""
    record = endpoints.add_version(svc, endpoint_id, body.PipelineId, make_default=body.MakeDefault)
    return convert.endpoint_read(record, base)


@router.put("/{endpoint_id}/default-version", response_model=Read, openapi_extra=body_doc(DefaultVersionUpdate))
def set_default_version(
    endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl,
    body: Annotated[DefaultVersionUpdate, Depends(json_body(DefaultVersionUpdate))],
) -> Read:
    return convert.endpoint_read(endpoints.set_default_version(svc, endpoint_id, body.Version), base)


@router.post("/{endpoint_id}/enable", response_model=Read)
def enable_endpoint(endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl) -> Read:
    return convert.endpoint_read(endpoints.set_status(svc, endpoint_id, EntityStatus.ACTIVE), base)


@router.post("/{endpoint_id}/disable", response_model=Read)
def disable_endpoint(endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl) -> Read:
    return convert.endpoint_read(endpoints.set_status(svc, endpoint_id, EntityStatus.DISABLED), base)


@router.post("/{endpoint_id}/archive", response_model=Read)
def archive_endpoint(endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl) -> Read:
    """Disable the endpoint and free its name."""
    return convert.endpoint_read(endpoints.archive(svc, endpoint_id), base)


@router.put("/{endpoint_id}/name", response_model=Read, openapi_extra=body_doc(EndpointNameUpdate))
def rename_endpoint(
    endpoint_id: str, _: ManageEndpoints, svc: ServicesDep, base: BaseUrl,
    body: Annotated[EndpointNameUpdate, Depends(json_body(EndpointNameUpdate))],
) -> Read:
    """Rename the endpoint (``PipelineEndpoint.set_name``; 409 if another endpoint has the name)."""
    return convert.endpoint_read(endpoints.rename(svc, endpoint_id, body.Name), base)


@router.post("/{endpoint_id}/reactivate", response_model=Read, openapi_extra=body_doc(EndpointNameUpdate))
def reactivate_endpoint(
    endpoint_id: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl,
    body: Annotated[EndpointNameUpdate, Depends(json_body(EndpointNameUpdate))],
) -> Read:
    """Enable an archived endpoint again under ``Name``."""
    return convert.endpoint_read(endpoints.reactivate(svc, endpoint_id, body.Name), base)
