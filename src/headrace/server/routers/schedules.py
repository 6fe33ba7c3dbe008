"""Schedules: list, get, create, update, enable/disable, delete, and their runs and ticks.

Azure ML v1's routes, plus ``DELETE`` (v1 had none), ``/ticks`` (each evaluation: fired, skipped or
failed, and why) and ``/runs``. Creating and changing need the submitter role, deleting the admin role.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from headrace.schemas import RunList
from headrace.schemas.schedules import (
    ScheduleCreate,
    ScheduleList,
    ScheduleRead,
    ScheduleTickList,
    ScheduleUpdate,
)
from headrace.server import convert
from headrace.server import convert_schedules as conv
from headrace.server.deps import ManageSchedules, Reader, ServicesDep, body_doc, json_body
from headrace.services import schedules
from headrace.storage.records import EntityStatus

router = APIRouter(prefix="/schedules", tags=["schedules"])
ActiveOnly = Annotated[bool, Query(alias="activeOnly", description="Hide disabled schedules (ignored with a "
                                                                   "pipeline or endpoint filter, as in Azure ML).")]
PipelineFilter = Annotated[str | None, Query(alias="pipelineId", description="A published pipeline id.")]
EndpointFilter = Annotated[str | None, Query(alias="pipelineEndpointId", description="A pipeline endpoint id.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]
CreateBody = Annotated[ScheduleCreate, Depends(json_body(ScheduleCreate))]
UpdateBody = Annotated[ScheduleUpdate, Depends(json_body(ScheduleUpdate))]
Read = ScheduleRead


@router.get("", response_model=ScheduleList)
def list_schedules(_: Reader, svc: ServicesDep, active_only: ActiveOnly = True, pipeline_id: PipelineFilter = None,
                   endpoint_id: EndpointFilter = None) -> ScheduleList:
    """Schedules, newest first (``Schedule.list``)."""
    records = schedules.list_schedules(svc, active_only=active_only, published_pipeline_id=pipeline_id,
                                       pipeline_endpoint_id=endpoint_id)
    return ScheduleList(Value=[conv.schedule_read(r) for r in records])


@router.get("/pipeline/{pipeline_id}", response_model=ScheduleList)
def list_for_pipeline(pipeline_id: str, _: Reader, svc: ServicesDep) -> ScheduleList:
    """Every schedule of a published pipeline, active or not (Azure's ``Schedules/Pipeline/{id}``)."""
    svc.store.get_published_pipeline(pipeline_id)
    records = schedules.list_schedules(svc, published_pipeline_id=pipeline_id)
    return ScheduleList(Value=[conv.schedule_read(r) for r in records])


@router.get("/pipeline-endpoint/{endpoint_id}", response_model=ScheduleList)
def list_for_endpoint(endpoint_id: str, _: Reader, svc: ServicesDep) -> ScheduleList:
    """Every schedule of a pipeline endpoint, active or not (Azure's ``Schedules/PipelineEndpoint/{id}``)."""
    svc.store.get_pipeline_endpoint(endpoint_id)
    records = schedules.list_schedules(svc, pipeline_endpoint_id=endpoint_id)
    return ScheduleList(Value=[conv.schedule_read(r) for r in records])


@router.get("/{schedule_id}", response_model=Read)
def get_schedule(schedule_id: str, _: Reader, svc: ServicesDep) -> Read:
    """A schedule: its trigger (also in words), next run time, last fire and run."""
    return conv.schedule_read(schedules.get_schedule(svc, schedule_id))


@router.post("", response_model=Read, openapi_extra=body_doc(ScheduleCreate))
def create_schedule(_: ManageSchedules, svc: ServicesDep, body: CreateBody) -> Read:
    """Create a schedule of a published pipeline or an endpoint, on a recurrence, a cron or a datastore folder.

    400 ``InvalidSchedule`` (``Target`` names the field) for a bad trigger, 404 for an unknown
    pipeline, endpoint or datastore.
    """
    return conv.schedule_read(schedules.create_schedule(svc, **conv.create_options(body)))


def _update(schedule_id: str, svc: ServicesDep, body: ScheduleUpdate) -> Read:
    record = schedules.get_schedule(svc, schedule_id)
    return conv.schedule_read(schedules.update_schedule(svc, schedule_id, **conv.update_options(body, record)))


@router.put("/{schedule_id}", response_model=Read, openapi_extra=body_doc(ScheduleUpdate))
def update_schedule(schedule_id: str, _: ManageSchedules, svc: ServicesDep, body: UpdateBody) -> Read:
    """Change a schedule: a missing or null field keeps its value (``Schedule.update``)."""
    return _update(schedule_id, svc, body)


@router.patch("/{schedule_id}", response_model=Read, openapi_extra=body_doc(ScheduleUpdate))
def patch_schedule(schedule_id: str, _: ManageSchedules, svc: ServicesDep, body: UpdateBody) -> Read:
    """Same as ``PUT``."""
    return _update(schedule_id, svc, body)


@router.post("/{schedule_id}/enable", response_model=Read)
def enable_schedule(schedule_id: str, _: ManageSchedules, svc: ServicesDep) -> Read:
    """Activate it; it fires from now on (slots missed while disabled never run)."""
    return conv.schedule_read(schedules.set_status(svc, schedule_id, EntityStatus.ACTIVE))


@router.post("/{schedule_id}/disable", response_model=Read)
def disable_schedule(schedule_id: str, _: ManageSchedules, svc: ServicesDep) -> Read:
    return conv.schedule_read(schedules.set_status(svc, schedule_id, EntityStatus.DISABLED))


@router.delete("/{schedule_id}", status_code=204, response_class=Response,
               responses={204: {"description": "Deleted (its runs stay)."}})
def delete_schedule(schedule_id: str, _: ManageSchedules, svc: ServicesDep) -> Response:
    """Delete a disabled schedule (409 while it is active)."""
    schedules.delete_schedule(svc, schedule_id)
    return Response(status_code=204)


@router.get("/{schedule_id}/runs", response_model=RunList)
def schedule_runs(schedule_id: str, _: Reader, svc: ServicesDep, limit: Limit = 100) -> RunList:
    """The runs the schedule started, newest first (``Schedule.get_pipeline_runs``)."""
    schedules.get_schedule(svc, schedule_id)
    runs, _token = svc.store.list_runs(schedule_id=schedule_id, limit=limit)
    return RunList(Value=[convert.run_read(r) for r in runs])


@router.get("/{schedule_id}/ticks", response_model=ScheduleTickList)
def schedule_ticks(schedule_id: str, _: Reader, svc: ServicesDep, limit: Limit = 100) -> ScheduleTickList:
    """Recent evaluations, newest first: fired, skipped or failed, why, and the runs created."""
    schedules.get_schedule(svc, schedule_id)
    ticks = svc.store.list_schedule_ticks(schedule_id, limit=limit)
    return ScheduleTickList(Value=[conv.tick_read(t) for t in ticks])
