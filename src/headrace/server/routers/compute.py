"""Compute targets (``ComputeTarget``, ``AmlCompute`` in the remote SDK)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from headrace.schemas.compute import ComputeCreate, ComputeList, ComputeRead
from headrace.server.deps import CreateCompute, ManageCompute, Reader, ServicesDep, body_doc, json_body
from headrace.services import compute
from headrace.storage.records import ComputeTargetRecord

router = APIRouter(prefix="/computes", tags=["compute"])


def _read(record: ComputeTargetRecord) -> ComputeRead:
    return ComputeRead(Name=record.name, Type=record.type, Properties=dict(record.config),
                       Description=record.description, CreatedTime=record.created_at)


@router.get("", response_model=ComputeList)
def list_computes(_: Reader, svc: ServicesDep) -> ComputeList:
    return ComputeList(Value=[_read(r) for r in compute.list_compute_targets(svc)])


@router.get("/{name}", response_model=ComputeRead)
def get_compute(name: str, _: Reader, svc: ServicesDep) -> ComputeRead:
    return _read(compute.get_compute_target(svc, name))


@router.put("/{name}", response_model=ComputeRead, openapi_extra=body_doc(ComputeCreate))
def put_compute(
    name: str, _: CreateCompute, svc: ServicesDep, body: Annotated[ComputeCreate, Depends(json_body(ComputeCreate))]
) -> ComputeRead:
    """Create the target if it is missing (``ComputeTarget.create``); an existing one of the same type is
    returned unchanged, one of another type is a 409."""
    return _read(compute.create_compute_target(svc, name, body.Type, body.Properties, body.Description))


@router.delete("/{name}", status_code=204, response_class=Response)
def delete_compute(name: str, _: ManageCompute, svc: ServicesDep) -> Response:
    compute.delete_compute_target(svc, name)
    return Response(status_code=204)
