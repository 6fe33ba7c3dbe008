"""Schedules: create, read, change and delete them; what one fire of a schedule submits.

A schedule targets a published pipeline, or a pipeline endpoint (its default version at fire
time). Its trigger is a recurrence (``ScheduleRecurrence``, cron included) or a datastore folder
watched by polling. The scheduler loop (``services.scheduler``) decides *when* to fire; this
module holds the rules every front end shares, and ``fire`` (one run, exactly once per key).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from headrace import clock
from headrace.core.expressions import TriggerContext, evaluate, validate_expression
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import ConflictError, DatastoreError, ScheduleError
from headrace.services.bundle import Services
from headrace.services.datastores import get_datastore
from headrace.services.parameters import resolve_parameters
from headrace.services.publishing import check_name, submit_published
from headrace.storage.records import (
    EntityStatus,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    ScheduleKind,
    ScheduleRecord,
)

MISFIRE_POLICIES = ("latest", "skip", "all")
MIN_POLL_MINUTES = 1 / 60  # one second: below that, polling is a busy loop
MAX_POLL_MINUTES = 366 * 24 * 60  # a year
MAX_MISFIRE_CAP = 10_000
_TRIGGER_KEYS = ("datastore", "path_on_datastore", "polling_interval", "data_path_parameter_name",
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


def _declared(svc: Services, published: PublishedPipelineRecord) -> dict[str, dict[str, Any]]:
    return svc.store.get_pipeline(published.pipeline_id).graph["parameters"]


def _target_of(
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
    return {name: _plain(value) for name, value in parameters.items()}


def _plain(value: Any) -> Any:
    """A JSON form of a parameter value (``DataPath`` objects become ``{"datastore", "path"}``)."""
    if hasattr(value, "datastore_name") and hasattr(value, "path_on_datastore"):
        return {"datastore": value.datastore_name, "path": value.path_on_datastore}
    return value


def _recurrence(recurrence: ScheduleRecurrence | None, cron: str | None, time_zone: Any,
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


def _watch_trigger(svc: Services, declared: Mapping[str, Mapping[str, Any]], options: Mapping[str, Any]) -> dict[str, Any]:
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
    if path and not ds.is_dir(path):
        raise ScheduleError(f"folder {path!r} does not exist in datastore {ds_name!r}; create it first",
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


def list_watched(svc: Services, trigger: Mapping[str, Any]) -> dict[str, str]:
    """The files a datastore watch sees now: path -> version.

    Raises:
        DatastoreError: the store cannot be listed, or the watched folder vanished (a local mount
            that went away must not look like "every file deleted").
    """
    ds = get_datastore(svc, trigger["datastore"])
    files = ds.versions(trigger["path"], recursive=trigger["recursive"])
    if not files and trigger["path"] and not ds.exists(trigger["path"]):
        raise DatastoreError(f"watched folder {trigger['path']!r} is missing", uri=ds.uri(trigger["path"]))
    return files


def _check_misfire(misfire: str, cap: int) -> None:
    if misfire not in MISFIRE_POLICIES:
        raise ScheduleError(f"must be one of {', '.join(MISFIRE_POLICIES)}, got {misfire!r}", field="misfire")
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_MISFIRE_CAP:
        raise ScheduleError(f"must be an integer from 1 to {MAX_MISFIRE_CAP}, got {cap!r}", field="misfire_cap")


def _status(value: Any) -> EntityStatus:
    try:
        return EntityStatus(value)
    except ValueError:
        raise ScheduleError(f"must be Active or Disabled, got {value!r}", field="status") from None


# -- create / change ------------------------------------------------------------------------

def first_fire(record: ScheduleRecord, now: datetime) -> datetime | None:
    """When a schedule made (or enabled) at ``now`` first fires: its first slot at or after now,
    or one polling interval from now for a datastore watch."""
    if record.kind is ScheduleKind.DATASTORE:
        return now + timedelta(minutes=record.trigger["polling_interval"])
    rec = ScheduleRecurrence.from_dict(record.trigger)
    # The creation instant anchors a recurrence without start time and is itself a slot: skip it,
    # or creating a schedule would run it at once (Azure's surprise). A start time that is now fires.
    after = now - timedelta(microseconds=1) if rec.start_time is not None else now
    return rec.next_run(after, anchor=record.anchor)


def create_schedule(
    svc: Services,
    *,
    name: str,
    experiment_name: str,
    published_pipeline_id: str | None = None,
    pipeline_endpoint_id: str | None = None,
    recurrence: ScheduleRecurrence | None = None,
    cron: str | None = None,
    time_zone: Any = None,
    start_time: Any = None,
    end_time: Any = None,
    datastore: str | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    description: str | None = None,
    status: Any = EntityStatus.ACTIVE,
    continue_on_step_failure: bool | None = None,
    misfire: str = "latest",
    misfire_cap: int = 10,
    run_on_create: bool = False,
    **watch: Any,
) -> ScheduleRecord:
    """Create a schedule. ``watch`` holds the datastore options (path_on_datastore, polling_interval,
    data_path_parameter_name, recursive, batch).

    Raises:
        ScheduleError: an invalid combination or value (``.field`` names it).
        NotFoundError: unknown published pipeline, endpoint or datastore.
        ParameterError: a pipeline parameter that does not exist or does not fit its type.
    """
    check_name("schedule", name)
    check_name("experiment", experiment_name)
    unknown = sorted(set(watch) - set(_TRIGGER_KEYS))
    if unknown:
        raise ScheduleError(f"unknown option; valid: {', '.join(_TRIGGER_KEYS[1:])}", field=unknown[0])
    _check_misfire(misfire, misfire_cap)
    state = _status(status)
    _, published = _target_of(svc, published_pipeline_id, pipeline_endpoint_id)
    declared = _declared(svc, published)
    parameters = check_parameters(svc, declared, pipeline_parameters)
    rec = _recurrence(recurrence, cron, time_zone, start_time, end_time)
    if (rec is None) == (datastore is None):
        raise ScheduleError("give either a recurrence (or cron) or a datastore to watch", field="recurrence")
    files: dict[str, str] | None = None
    if rec is not None:
        stray = [k for k in ("path_on_datastore", "data_path_parameter_name") if watch.get(k) is not None]
        if stray:
            raise ScheduleError("only datastore schedules take this option", field=stray[0])
        kind, trigger = ScheduleKind.RECURRENCE, rec.to_dict()
    else:
        kind, trigger = ScheduleKind.DATASTORE, _watch_trigger(svc, declared, {"datastore": datastore, **watch})
        files = list_watched(svc, trigger)  # files present now never fire
    now = clock.now()
    record = ScheduleRecord(
        id=uuid.uuid4().hex, name=name, kind=kind, status=state, experiment_name=experiment_name,
        trigger=trigger, created_at=now, updated_at=now, anchor=now,
        published_pipeline_id=published_pipeline_id or None, pipeline_endpoint_id=pipeline_endpoint_id or None,
        description=description, parameters=parameters, continue_on_step_failure=continue_on_step_failure,
        misfire=misfire, misfire_cap=misfire_cap,
    )
    record = svc.store.create_schedule(_with_next(record, now), files)
    if run_on_create and state is EntityStatus.ACTIVE:
        try:
            run, _ = fire(svc, record, slot=now, fire_key="create", trigger_tags={"trigger": "create"})
        except BaseException:
            svc.store.delete_schedule(record.id)  # all or nothing: no schedule whose first run failed
            raise
        record = svc.store.update_schedule(record.id, last_fire_at=now, last_run_id=run.id)
    svc.notify_schedules_changed()
    return record


def _with_next(record: ScheduleRecord, now: datetime) -> ScheduleRecord:
    from dataclasses import replace

    return replace(record, next_fire_at=first_fire(record, now))


def get_schedule(svc: Services, schedule_id: str) -> ScheduleRecord:
    return svc.store.get_schedule(schedule_id)


def list_schedules(svc: Services, *, active_only: bool = True, published_pipeline_id: str | None = None,
                   pipeline_endpoint_id: str | None = None) -> list[ScheduleRecord]:
    """Azure's rule: with a pipeline or endpoint id, ``active_only`` is ignored (all are listed)."""
    if published_pipeline_id or pipeline_endpoint_id:
        active_only = False
    return svc.store.list_schedules(active_only=active_only, published_pipeline_id=published_pipeline_id,
                                    pipeline_endpoint_id=pipeline_endpoint_id)


def set_status(svc: Services, schedule_id: str, status: Any) -> ScheduleRecord:
    """Enable or disable. Enabling starts from now: slots missed while disabled never run, and files
    that landed while disabled do not fire (the folder is listed again)."""
    record = svc.store.get_schedule(schedule_id)
    state = _status(status)
    if record.status is state:
        return record
    changes: dict[str, Any] = {"status": state, "updated_at": clock.now(), "lease_owner": None,
                               "lease_expires_at": None}
    if state is EntityStatus.ACTIVE:
        return _restart(svc, record, changes)
    updated = svc.store.update_schedule(schedule_id, **changes)
    svc.notify_schedules_changed()
    return updated


def _restart(svc: Services, record: ScheduleRecord, changes: dict[str, Any]) -> ScheduleRecord:
    """Apply ``changes`` and start the schedule afresh from now (new first fire, new file baseline)."""
    from dataclasses import replace

    now = clock.now()
    fresh = replace(record, **changes)
    changes["next_fire_at"] = first_fire(fresh, now)
    changes["failures"] = 0
    if fresh.kind is ScheduleKind.DATASTORE:
        baseline = list_watched(svc, fresh.trigger)
        old = svc.store.get_schedule_files(record.id)
        owner = f"update:{uuid.uuid4().hex}"
        svc.store.update_schedule(record.id, lease_owner=owner, lease_expires_at=now + timedelta(minutes=5))
        changes["lease_owner"], changes["lease_expires_at"] = None, None
        updated = svc.store.save_schedule_state(
            record.id, owner=owner, changes=changes, files=(baseline, [p for p in old if p not in baseline]))
    else:
        updated = svc.store.update_schedule(record.id, **changes)
    svc.notify_schedules_changed()
    return updated


def update_schedule(svc: Services, schedule_id: str, **options: Any) -> ScheduleRecord:
    """Change a schedule; None (or absent) keeps a value. ``pipeline_parameters`` replaces them all.

    Options: name, description, recurrence, cron, time_zone, start_time, end_time,
    pipeline_parameters, status, continue_on_step_failure, misfire, misfire_cap, and for datastore
    schedules datastore, path_on_datastore, polling_interval, data_path_parameter_name, recursive, batch.

    Raises:
        ScheduleError: switching between a recurrence and a datastore watch, or an invalid value.
    """
    record = svc.store.get_schedule(schedule_id)
    options = {k: v for k, v in options.items() if v is not None}
    changes: dict[str, Any] = {}
    for key in ("name", "description", "continue_on_step_failure"):
        if key in options:
            changes[key] = options.pop(key)
    if "name" in changes:
        check_name("schedule", changes["name"])
    misfire = options.pop("misfire", record.misfire)
    cap = options.pop("misfire_cap", record.misfire_cap)
    _check_misfire(misfire, cap)
    changes.update(misfire=misfire, misfire_cap=cap)
    published, _ = resolve_target(svc, record)
    declared = _declared(svc, published)
    if "pipeline_parameters" in options:
        changes["parameters"] = check_parameters(svc, declared, options.pop("pipeline_parameters"))
    status = _status(options.pop("status", record.status))
    restart = status is EntityStatus.ACTIVE and record.status is not EntityStatus.ACTIVE
    time_keys = {"recurrence", "cron", "time_zone", "start_time", "end_time"} & set(options)
    watch_keys = set(_TRIGGER_KEYS) & set(options)
    if record.kind is ScheduleKind.RECURRENCE:
        if watch_keys:
            raise ScheduleError("a time schedule cannot become a datastore schedule; create a new one",
                                field=sorted(watch_keys)[0])
        if time_keys:
            rec = _updated_recurrence(record, options)
            changes["trigger"] = rec.to_dict()
            restart = restart or status is EntityStatus.ACTIVE
    else:
        if time_keys:
            raise ScheduleError("a datastore schedule cannot take a recurrence; create a new one",
                                field=sorted(time_keys)[0])
        if watch_keys:
            merged = {**_watch_options(record.trigger), **{k: options[k] for k in watch_keys}}
            changes["trigger"] = _watch_trigger(svc, declared, merged)
            restart = restart or status is EntityStatus.ACTIVE
    leftover = sorted(set(options) - time_keys - watch_keys)
    if leftover:
        raise ScheduleError("not an option of Schedule.update", field=leftover[0])
    changes.update(status=status, updated_at=clock.now())
    if restart:
        return _restart(svc, record, {**changes, "lease_owner": None, "lease_expires_at": None})
    if status is not record.status:
        changes.update(lease_owner=None, lease_expires_at=None)
    updated = svc.store.update_schedule(schedule_id, **changes)
    svc.notify_schedules_changed()
    return updated


def _watch_options(trigger: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(trigger)
    options["path_on_datastore"] = options.pop("path")
    return options


def _updated_recurrence(record: ScheduleRecord, options: Mapping[str, Any]) -> ScheduleRecurrence:
    if "recurrence" in options or "cron" in options:
        return _recurrence(options.get("recurrence"), options.get("cron"), options.get("time_zone"),
                           options.get("start_time"), options.get("end_time"))
    current = dict(record.trigger)
    for key in ("time_zone", "start_time", "end_time"):
        if key in options:
            current[key] = options[key]
    rec = ScheduleRecurrence.from_dict(current)
    rec.validate()
    return rec


def delete_schedule(svc: Services, schedule_id: str) -> None:
    """Delete a disabled schedule (its runs stay).

    Raises:
        ConflictError: the schedule is still active.
    """
    record = svc.store.get_schedule(schedule_id)
    if record.status is EntityStatus.ACTIVE:
        raise ConflictError(f"schedule {record.name!r} ({record.id}) is active; disable it before deleting it")
    svc.store.delete_schedule(schedule_id)
    svc.notify_schedules_changed()


def blocking_schedules(svc: Services, *, published_pipeline_id: str | None = None,
                       pipeline_endpoint_id: str | None = None) -> list[str]:
    """Names (with ids) of the active schedules pointing at a published pipeline or endpoint."""
    found = svc.store.list_schedules(active_only=True, published_pipeline_id=published_pipeline_id,
                                     pipeline_endpoint_id=pipeline_endpoint_id)
    return [f"{s.name!r} ({s.id})" for s in found]


def register_checks(svc: Services) -> None:
    """Make disabling a published pipeline or endpoint fail while active schedules point at it."""
    svc.disable_checks.append(lambda pid: blocking_schedules(svc, published_pipeline_id=pid))
    svc.endpoint_disable_checks.append(lambda eid: blocking_schedules(svc, pipeline_endpoint_id=eid))


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


# -- firing ---------------------------------------------------------------------------------

def fire(
    svc: Services,
    record: ScheduleRecord,
    *,
    slot: datetime,
    fire_key: str,
    trigger_tags: Mapping[str, str],
    data_path: str | None = None,
) -> tuple[RunRecord, bool]:
    """Submit the run of one fire; a second call with the same ``fire_key`` returns the first run.

    ``data_path`` (a path on the watched datastore) goes to ``data_path_parameter_name``.

    Raises:
        HeadraceError: the target is disabled or gone, or a parameter no longer fits.
    """
    published, endpoint = resolve_target(svc, record)
    run_id = uuid.uuid4().hex
    ctx = TriggerContext(scheduled_time=slot, start_time=clock.now(), run_id=run_id)
    parameters = {name: evaluate(value, ctx, name=name) for name, value in record.parameters.items()}
    param = record.trigger.get("data_path_parameter_name")
    if data_path is not None and param:
        parameters[param] = {"datastore": record.trigger["datastore"], "path": data_path}
    tags = {"headrace.schedule_id": record.id, "headrace.schedule": record.name,
            "headrace.scheduled_time": slot.isoformat(), **{f"headrace.{k}": v for k, v in trigger_tags.items()}}
    return submit_published(
        svc, published.id, record.experiment_name, pipeline_parameters=parameters,
        continue_on_step_failure=record.continue_on_step_failure, tags=tags, description=record.description,
        run_source="Schedule", endpoint=endpoint, run_id=run_id, schedule_fire=(record.id, fire_key),
        properties={"schedule": {"id": record.id, "slot": slot.isoformat(), **trigger_tags}},
    )
