"""The rules a schedule must satisfy, checked once for every front end: its target, parameters,
recurrence or datastore watch, misfire policy and status; and the schedule described in words.

Every failure names the field at fault (``ScheduleError.field``), or is the ``NotFoundError`` /
``ParameterError`` of the thing that does not exist or does not fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from headrace.core.expressions import validate_expression
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import DatastoreError, ScheduleError
from headrace.services.bundle import Services
from headrace.services.datastores import get_datastore
from headrace.services.parameters import resolve_parameters
from headrace.storage.records import (
    EntityStatus,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    ScheduleKind,
    ScheduleRecord,
)

MISFIRE_POLICIES = ("latest", "skip", "all")
MIN_POLL_MINUTES = 1 / 60  # one second: below that, polling is a busy loop
MAX_POLL_MINUTES = 366 * 24 * 60  # a year
MAX_MISFIRE_CAP = 10_000
TRIGGER_KEYS = ("datastore", "path_on_datastore", "polling_interval", "data_path_parameter_name",
                 "recursive", "batch")


# -- targets --------------------------------------------------------------------------------

def resolve_target(svc: Services, record: ScheduleRecord) -> tuple[PublishedPipelineRecord, tuple[str, str] | None]:
    """The published pipeline a fire runs now, and (endpoint id, version) for an endpoint schedule."""
    if record.published_pipeline_id:
        return svc.store.get_published_pipeline(record.published_pipeline_id), None
    ep = svc.store.get_pipeline_endpoint(record.pipeline_endpoint_id)
    entry = ep.version(None)
    assert entry is not None  # the default version always exists
    return svc.store.get_published_pipeline(entry.published_pipeline_id), (ep.id, entry.version)


def declared_parameters(svc: Services, published: PublishedPipelineRecord) -> dict[str, dict[str, Any]]:
    return svc.store.get_pipeline(published.pipeline_id).graph["parameters"]


def target_of(
    svc: Services, published_pipeline_id: str | None, pipeline_endpoint_id: str | None
) -> tuple[PublishedPipelineRecord | PipelineEndpointRecord, PublishedPipelineRecord]:
    if bool(published_pipeline_id) == bool(pipeline_endpoint_id):
        raise ScheduleError("give exactly one of pipeline_id and pipeline_endpoint_id", field="pipeline_id")
    if published_pipeline_id:
        published = svc.store.get_published_pipeline(published_pipeline_id)
        return published, published
    ep = svc.store.get_pipeline_endpoint(pipeline_endpoint_id)
    entry = ep.version(None)
    assert entry is not None
    return ep, svc.store.get_published_pipeline(entry.published_pipeline_id)


# -- checks ---------------------------------------------------------------------------------

def check_parameters(svc: Services, declared: Mapping[str, Mapping[str, Any]],
                     parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check names, types and ``@`` expressions now, so a bad value fails at create, not at 3 a.m.

    Raises:
        ParameterError: unknown name or a value of the wrong type.
        ScheduleError: a malformed expression.
    """
    parameters = dict(parameters or {})
    literal = {}
    for name, value in parameters.items():
        if isinstance(value, str) and value.startswith("@") and not value.startswith("@@"):
            validate_expression(value, name)
            literal[name] = None  # presence only: the name is checked below, the type at fire time
        else:
            literal[name] = value
    resolve_parameters(svc, declared, {k: v for k, v in literal.items() if v is not None})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:  # expressions on unknown names (literal ones already raised)
        resolve_parameters(svc, declared, {unknown[0]: None})
    return {name: as_plain(value) for name, value in parameters.items()}


def as_plain(value: Any) -> Any:
    """A JSON form of a parameter value (``DataPath`` objects become ``{"datastore", "path"}``)."""
    if hasattr(value, "datastore_name") and hasattr(value, "path_on_datastore"):
        return {"datastore": value.datastore_name, "path": value.path_on_datastore}
    return value


def build_recurrence(recurrence: ScheduleRecurrence | None, cron: str | None, time_zone: Any,
                start_time: Any, end_time: Any) -> ScheduleRecurrence | None:
    if cron is not None:
        if recurrence is not None:
            raise ScheduleError("give either recurrence or cron, not both", field="cron")
        return ScheduleRecurrence(cron=cron, time_zone=time_zone, start_time=start_time, end_time=end_time)
    if recurrence is not None and not isinstance(recurrence, ScheduleRecurrence):
        raise ScheduleError(f"expected a ScheduleRecurrence, got {type(recurrence).__name__}", field="recurrence")
    if recurrence is not None:
        recurrence.validate()
    return recurrence


def watch_trigger(svc: Services, declared: Mapping[str, Mapping[str, Any]], options: Mapping[str, Any]) -> dict[str, Any]:
    """Check a datastore watch's options and return its stored form."""
    interval = options.get("polling_interval", 5)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not math.isfinite(interval) \
            or not MIN_POLL_MINUTES <= interval <= MAX_POLL_MINUTES:
        raise ScheduleError(
            f"must be a number of minutes from {MIN_POLL_MINUTES:.4f} (one second) to {MAX_POLL_MINUTES}"
            f" (a year), got {interval!r}", field="polling_interval")
    ds_name = options["datastore"]
    ds = get_datastore(svc, ds_name)
    path = (options.get("path_on_datastore") or "").strip("/")
    ds.uri(path)  # PathEscapeError for a path leaving the datastore
    # A folder that does not exist yet is watched all the same (Azure ML accepts it): its files fire once
    # it appears. A file is not a folder, though.
    if path and ds.exists(path) and not ds.is_dir(path):
        raise ScheduleError(f"{path!r} is a file in datastore {ds_name!r}, not a folder; watch its folder",
                            field="path_on_datastore")
    param = options.get("data_path_parameter_name")
    if param is not None:
        spec = declared.get(param)
        if spec is None or spec["type"] != "datapath":
            valid = ", ".join(n for n, s in declared.items() if s["type"] == "datapath") or "(none)"
            raise ScheduleError(
                f"{param!r} is not a DataPath parameter of the pipeline; its DataPath parameters: {valid}",
                field="data_path_parameter_name")
    return {"datastore": ds_name, "path": path, "polling_interval": float(interval),
            "data_path_parameter_name": param, "recursive": bool(options.get("recursive", False)),
            "batch": bool(options.get("batch", False))}


def list_watched(svc: Services, trigger: Mapping[str, Any], missing_ok: bool = False) -> dict[str, str]:
    """The files a datastore watch sees now: path -> version.

    Args:
        missing_ok: a watched folder that does not exist holds no files (at creation, and while
            the watch has seen no file yet), instead of an error.

    Raises:
        DatastoreError: the store cannot be listed, the watched folder vanished (a local mount
            that went away must not look like "every file deleted") or is a file now (which must
            not fire as if it were a new file in the folder).
        PathEscapeError: the watched folder is now a link that leaves the datastore.
    """
    ds = get_datastore(svc, trigger["datastore"])
    path = trigger["path"]
    files = ds.versions(path, recursive=trigger["recursive"])
    if path and path in files:  # a listing of a file is the file itself
        raise DatastoreError(f"watched folder {path!r} is not a folder: a file is there now")
    if not files and path and not missing_ok and not ds.exists(path):
        raise DatastoreError(f"watched folder {path!r} is missing")
    return files


def check_misfire(misfire: str, cap: int) -> None:
    if misfire not in MISFIRE_POLICIES:
        raise ScheduleError(f"must be one of {', '.join(MISFIRE_POLICIES)}, got {misfire!r}", field="misfire")
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_MISFIRE_CAP:
        raise ScheduleError(f"must be an integer from 1 to {MAX_MISFIRE_CAP}, got {cap!r}", field="misfire_cap")


def parse_status(value: Any) -> EntityStatus:
    try:
        return EntityStatus(value)
    except ValueError:
        raise ScheduleError(f"must be Active or Disabled, got {value!r}", field="status") from None


def describe(record: ScheduleRecord) -> str:
    """A schedule's trigger in words."""
    if record.kind is ScheduleKind.RECURRENCE:
        return ScheduleRecurrence.from_dict(record.trigger).describe()
    t = record.trigger
    where = f"{t['datastore']}/{t['path']}" if t["path"] else t["datastore"]
    minutes = t["polling_interval"]
    every = f"{minutes:g} min" if minutes >= 1 else f"{minutes * 60:g} s"
    scope = " or its sub-folders" if t.get("recursive") else ""
    text = f"When a file is added or changed in {where}{scope}, every {every}"
    return text + (" (one run per poll)" if t.get("batch") else "")
