"""Schedules between the store and the wire: records to ``ScheduleRead``, bodies to the services' options.

The wire is Azure ML v1's schedule entity (``headrace.schemas.schedules``); the services take
snake_case options (``services.schedules.create_schedule``/``update_schedule``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.core.recurrence import ScheduleRecurrence
from headrace.core.timezones import resolve_zone
from headrace.errors import ScheduleError
from headrace.schemas import DataPathValue
from headrace.schemas.schedules import (
    DataStoreTrigger,
    RecurrenceWire,
    ScheduleCreate,
    ScheduleRead,
    ScheduleTickRead,
    ScheduleUpdate,
    SubmissionInfo,
)
from headrace.server.errors import BadRequestError
from headrace.services.schedules import describe
from headrace.storage.records import EntityStatus, ScheduleKind, ScheduleRecord, ScheduleTickRecord

# DataStoreTriggerInfo field -> the services' option, and the stored trigger's key.
_WATCH = (
    ("PathOnDataStore", "path_on_datastore", "path"),
    ("PollingInterval", "polling_interval", "polling_interval"),
    ("DataPathParameterName", "data_path_parameter_name", "data_path_parameter_name"),
    ("Recursive", "recursive", "recursive"),
    ("Batch", "batch", "batch"),
)
_TOP_TIMES = (("TimeZone", "time_zone"), ("StartTime", "start_time"), ("EndTime", "end_time"))


# -- records -> wire ------------------------------------------------------------------------

def _datapath(value: Mapping[str, Any]) -> DataPathValue:
    low = {str(k).lower(): v for k, v in value.items()}
    return DataPathValue(DataStoreName=str(low.get("datastore", low.get("datastorename", ""))),
                         RelativePath=str(low.get("path", low.get("relativepath", ""))))


def submission_info(record: ScheduleRecord) -> SubmissionInfo:
    """The stored parameters as Azure's assignments (data paths apart)."""
    scalars = {k: v for k, v in record.parameters.items() if not isinstance(v, Mapping)}
    paths = {k: _datapath(v) for k, v in record.parameters.items() if isinstance(v, Mapping)}
    return SubmissionInfo(ExperimentName=record.experiment_name, Description=record.description,
                          ParameterAssignments=scalars, DataPathAssignments=paths,
                          ContinueRunOnStepFailure=record.continue_on_step_failure)


def recurrence_wire(rec: ScheduleRecurrence) -> RecurrenceWire:
    """Azure's shape; the zone as a Windows id only when that id reads back as the same zone (a Windows id
    stands for one IANA zone: "W. Europe Standard Time" is Europe/Berlin, not Europe/Amsterdam)."""
    wire = rec.to_wire()
    if resolve_zone(wire["TimeZone"]) != rec.zone:
        wire["TimeZone"] = rec.time_zone
    return RecurrenceWire.model_validate(wire)


def schedule_read(record: ScheduleRecord) -> ScheduleRead:
    recurrence = watch = None
    next_run = record.next_fire_at if record.status is EntityStatus.ACTIVE else None
    if record.kind is ScheduleKind.RECURRENCE:
        rec = ScheduleRecurrence.from_dict(record.trigger)
        recurrence = recurrence_wire(rec)
        next_run = next_run.astimezone(rec.zone) if next_run else None
    else:
        t = record.trigger
        watch = DataStoreTrigger(DataStoreName=t["datastore"], PathOnDataStore=t["path"],
                                 PollingInterval=t["polling_interval"],
                                 DataPathParameterName=t.get("data_path_parameter_name"),
                                 Recursive=bool(t.get("recursive")), Batch=bool(t.get("batch")))
    return ScheduleRead(
        Id=record.id, Name=record.name, Description=record.description, PipelineId=record.published_pipeline_id,
        PipelineEndpointId=record.pipeline_endpoint_id, EntityStatus=record.status.value,
        ScheduleType=record.kind.value, Recurrence=recurrence, DataStoreTriggerInfo=watch,
        PipelineSubmissionInfo=submission_info(record), Misfire=record.misfire, MisfireCap=record.misfire_cap,
        NextRunTime=next_run, LastFireTime=record.last_fire_at, LastRunId=record.last_run_id,
        Trigger=describe(record), CreatedDate=record.created_at, LastModifiedDate=record.updated_at,
    )


def tick_read(tick: ScheduleTickRecord) -> ScheduleTickRead:
    return ScheduleTickRead(Id=tick.id, ScheduleId=tick.schedule_id, EvaluatedAt=tick.evaluated_at, Outcome=tick.outcome.value,
                            Reason=tick.reason, SlotTime=tick.slot_time, CursorBefore=tick.cursor_before,
                            CursorAfter=tick.cursor_after, RunIds=list(tick.run_ids))


# -- wire -> services -----------------------------------------------------------------------

def _parameters(sub: SubmissionInfo | None) -> dict[str, Any] | None:
    """One parameter dict (data paths as ``{"datastore", "path"}``), or None when neither is given."""
    if sub is None or (sub.ParameterAssignments is None and sub.DataPathAssignments is None):
        return None
    parameters = dict(sub.ParameterAssignments or {})
    for name, path in (sub.DataPathAssignments or {}).items():
        if name in parameters:
            raise BadRequestError(f"parameter {name!r} is in both ParameterAssignments and DataPathAssignments",
                                  target=name)
        parameters[name] = {"datastore": path.DataStoreName, "path": path.RelativePath}
    return parameters


def _recurrence(body: ScheduleCreate | ScheduleUpdate) -> ScheduleRecurrence | None:
    """The body's ``Recurrence``; top-level ``TimeZone``/``StartTime``/``EndTime`` fill in what it lacks."""
    if body.Recurrence is None:
        return None
    wire = body.Recurrence.model_dump(exclude_none=True)
    for key, option in _TOP_TIMES:
        value = getattr(body, key)
        if value is not None and body.Cron is None:
            if key in wire:
                raise ScheduleError("is given both in Recurrence and at the top level; give it once", field=option)
            wire[key] = value
    return ScheduleRecurrence.from_wire(wire)


def _times(body: ScheduleCreate | ScheduleUpdate) -> dict[str, Any]:
    """cron and the top-level times (those of a cron, or folded into ``Recurrence`` already)."""
    if body.Recurrence is not None and body.Cron is None:
        return {}
    return {option: getattr(body, key) for key, option in [("Cron", "cron"), *_TOP_TIMES]}


def _watch(info: DataStoreTrigger | None) -> dict[str, Any]:
    if info is None:
        return {}
    options = {"datastore": info.DataStoreName}
    options.update({option: getattr(info, key) for key, option, _ in _WATCH})
    return options


def create_options(body: ScheduleCreate) -> dict[str, Any]:
    """The keyword arguments of ``services.schedules.create_schedule`` (None values left out)."""
    sub = body.PipelineSubmissionInfo
    options: dict[str, Any] = {
        "name": body.Name, "experiment_name": sub.ExperimentName or "", "published_pipeline_id": body.PipelineId,
        "pipeline_endpoint_id": body.PipelineEndpointId, "recurrence": _recurrence(body), **_times(body),
        "description": body.Description if body.Description is not None else sub.Description,
        "pipeline_parameters": _parameters(sub), "continue_on_step_failure": sub.ContinueRunOnStepFailure,
        "status": body.Status, "misfire": body.Misfire, "misfire_cap": body.MisfireCap,
        "run_on_create": body.RunOnCreate, **_watch(body.DataStoreTriggerInfo),
    }
    return {k: v for k, v in options.items() if v is not None}


def update_options(body: ScheduleUpdate, record: ScheduleRecord) -> dict[str, Any]:
    """The keyword arguments of ``services.schedules.update_schedule``.

    A read-modify-write PUT sends every field back: values equal to the current ones are left out,
    so they neither restart the schedule nor trip the "cannot change" checks.

    Raises:
        ScheduleError: a change of the experiment or of the target.
    """
    sub = body.PipelineSubmissionInfo or SubmissionInfo()
    for given, current, option in ((body.PipelineId, record.published_pipeline_id, "pipeline_id"),
                                   (body.PipelineEndpointId, record.pipeline_endpoint_id, "pipeline_endpoint_id"),
                                   (sub.ExperimentName, record.experiment_name, "experiment_name")):
        if given is not None and given != current:
            raise ScheduleError(f"cannot be changed (it is {current!r}); create a new schedule", field=option)
    options: dict[str, Any] = {
        "name": body.Name, "description": body.Description if body.Description is not None else sub.Description,
        "pipeline_parameters": _parameters(sub), "continue_on_step_failure": sub.ContinueRunOnStepFailure,
        "status": body.Status if body.Status is not None else body.EntityStatus,
        "misfire": body.Misfire, "misfire_cap": body.MisfireCap, **_times(body),
    }
    rec = _recurrence(body)
    if rec is not None and not (record.kind is ScheduleKind.RECURRENCE
                                and rec == ScheduleRecurrence.from_dict(record.trigger)):
        options["recurrence"] = rec
    watch = _watch(body.DataStoreTriggerInfo)
    if record.kind is ScheduleKind.DATASTORE:
        stored = {"datastore": "datastore", **{option: key for _, option, key in _WATCH}}
        watch = {k: v for k, v in watch.items() if v is not None and v != record.trigger.get(stored[k])}
    options.update(watch)
    return {k: v for k, v in options.items() if v is not None}
