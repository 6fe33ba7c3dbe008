"""The schedule methods of the remote backend: ``LocalBackend``'s names and arguments, over HTTP.

The SDK's ``Schedule`` hands the backend snake_case options (those of
``services.schedules.create_schedule``/``update_schedule``); here they become Azure v1's wire body,
and the server's answers become the same ``ScheduleRecord``s an embedded workspace returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from headrace.client import HeadraceClient
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import ScheduleError
from headrace.schemas.schedules import ScheduleCreate, ScheduleUpdate
from headrace.sdk import wire
from headrace.storage.records import EntityStatus, RunRecord, ScheduleRecord, ScheduleTickRecord

# option -> wire key, by where the key goes in the body.
_TOP = {"name": "Name", "description": "Description", "published_pipeline_id": "PipelineId",
        "pipeline_endpoint_id": "PipelineEndpointId", "cron": "Cron", "time_zone": "TimeZone",
        "start_time": "StartTime", "end_time": "EndTime", "status": "Status", "misfire": "Misfire",
        "misfire_cap": "MisfireCap", "run_on_create": "RunOnCreate"}
_WATCH = {"datastore": "DataStoreName", "polling_interval": "PollingInterval", "path_on_datastore": "PathOnDataStore",
          "data_path_parameter_name": "DataPathParameterName", "recursive": "Recursive", "batch": "Batch"}
_SUBMIT = {"experiment_name": "ExperimentName", "continue_on_step_failure": "ContinueRunOnStepFailure"}
_OTHER = {"recurrence": "Recurrence", "pipeline_parameters": "ParameterAssignments"}
_OPTION_OF = {w: o for table in (_TOP, _WATCH, _SUBMIT, _OTHER) for o, w in table.items()}
_OPTION_OF["DataPathAssignments"] = "pipeline_parameters"
_TIMES = ("start_time", "end_time")
_CREATE = frozenset(_OPTION_OF.values())
_UPDATE = _CREATE - {"published_pipeline_id", "pipeline_endpoint_id", "experiment_name", "run_on_create"}
_UNKNOWN_CREATE = "unknown option; valid: " + ", ".join(o for o in _WATCH if o != "datastore")
_UNKNOWN_UPDATE = "not an option of Schedule.update"


def _recurrence(value: Any) -> dict[str, Any]:
    if not isinstance(value, ScheduleRecurrence):
        raise ScheduleError(f"expected a ScheduleRecurrence, got {type(value).__name__}", field="recurrence")
    body = value.to_wire()
    body["TimeZone"] = value.time_zone  # the IANA name: a Windows id may stand for several zones
    return body


def _plain(option: str, value: Any) -> Any:
    """A JSON value for a top-level option (datetimes as ISO 8601, enums and zones by name)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ZoneInfo):
        return value.key
    if option in _TIMES and not isinstance(value, str):
        raise ScheduleError(f"expected a datetime or an ISO 8601 string, got {value!r}", field=option)
    return value


def _assignments(parameters: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Parameter values as (ParameterAssignments, DataPathAssignments); ``{"datastore", "path"}`` is a data path."""
    scalars, paths = wire.split_assignments(parameters)
    for name, value in list(scalars.items()):
        if isinstance(value, Mapping) and set(value) == {"datastore", "path"}:
            paths[name] = {"DataStoreName": value["datastore"], "RelativePath": value["path"]}
            del scalars[name]
    return scalars, paths


def _body(model: type[BaseModel], options: Mapping[str, Any]) -> BaseModel:
    """The wire body of ``options`` (the services' keyword arguments; None means "not given").

    Raises:
        ScheduleError: an option that does not exist, or a value the body cannot carry (``field`` names it).
    """
    allowed, message = (_CREATE, _UNKNOWN_CREATE) if model is ScheduleCreate else (_UPDATE, _UNKNOWN_UPDATE)
    unknown = sorted(k for k, v in options.items() if v is not None and k not in allowed)
    if unknown:
        raise ScheduleError(message, field=unknown[0])
    top: dict[str, Any] = {}
    watch: dict[str, Any] = {}
    submit: dict[str, Any] = {}
    for option, value in options.items():
        if value is None:
            continue
        if option in _TOP:
            top[_TOP[option]] = _plain(option, value)
        elif option in _WATCH:
            watch[_WATCH[option]] = value
        elif option in _SUBMIT:
            submit[_SUBMIT[option]] = value
        elif option == "recurrence":
            top["Recurrence"] = _recurrence(value)
        else:  # pipeline_parameters
            submit["ParameterAssignments"], submit["DataPathAssignments"] = _assignments(value)
    if watch:
        top["DataStoreTriggerInfo"] = watch
    if submit or model is ScheduleCreate:
        top["PipelineSubmissionInfo"] = submit
    try:
        return model.model_validate(top)
    except ValidationError as exc:
        loc = [str(p) for p in exc.errors()[0]["loc"]] if exc.errors() else []
        field = next((_OPTION_OF[p] for p in reversed(loc) if p in _OPTION_OF), None)
        raise ScheduleError(f"invalid value: {exc.errors()[0]['msg'] if exc.errors() else exc}", field=field) from None


class RemoteSchedules:
    """Mixed into ``RemoteBackend``: the schedule calls of ``LocalBackend``."""

    client: HeadraceClient

    def create_schedule(self, **fields: Any) -> ScheduleRecord:
        body = _body(ScheduleCreate, fields)
        return wire.schedule_record(self.client.create_schedule(body))

    def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        return wire.schedule_record(self.client.get_schedule(schedule_id))

    def list_schedules(self, active_only: bool = True, published_pipeline_id: str | None = None,
                       pipeline_endpoint_id: str | None = None) -> list[ScheduleRecord]:
        found = self.client.list_schedules(active_only, published_pipeline_id, pipeline_endpoint_id)
        return [wire.schedule_record(s) for s in found]

    def update_schedule(self, schedule_id: str, **changes: Any) -> ScheduleRecord:
        body = _body(ScheduleUpdate, changes)
        return wire.schedule_record(self.client.update_schedule(schedule_id, body))

    def set_schedule_status(self, schedule_id: str, status: EntityStatus) -> ScheduleRecord:
        change = self.client.enable_schedule if EntityStatus(status) is EntityStatus.ACTIVE else self.client.disable_schedule
        return wire.schedule_record(change(schedule_id))

    def delete_schedule(self, schedule_id: str) -> None:
        self.client.delete_schedule(schedule_id)

    def schedule_runs(self, schedule_id: str, limit: int = 100) -> list[RunRecord]:
        return [wire.run_record(r) for r in self.client.schedule_runs(schedule_id, limit)]

    def schedule_ticks(self, schedule_id: str, limit: int = 100) -> list[ScheduleTickRecord]:
        return [wire.tick_record(t) for t in self.client.schedule_ticks(schedule_id, limit)]
