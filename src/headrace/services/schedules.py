"""Schedules: create, read, change and delete them; what one fire of a schedule submits.

The checks every schedule must pass live in ``schedule_rules``.

A schedule targets a published pipeline, or a pipeline endpoint (its default version at fire
time). Its trigger is a recurrence (``ScheduleRecurrence``, cron included) or a datastore folder
watched by polling. The scheduler loop (``services.scheduler``) decides *when* to fire; this
module holds the rules every front end shares, and ``fire`` (one run, exactly once per key).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from headrace import clock
from headrace.core.expressions import TriggerContext, evaluate
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import ConflictError, ScheduleError
from headrace.services.bundle import Services
from headrace.services.publishing import check_name, submit_published
from headrace.services.schedule_rules import (
    TRIGGER_KEYS,
    build_recurrence,
    check_misfire,
    check_parameters,
    declared_parameters,
    describe,
    list_watched,
    parse_status,
    resolve_target,
    target_of,
    watch_trigger,
)
from headrace.storage.records import EntityStatus, RunRecord, ScheduleKind, ScheduleRecord

__all__ = [
    "blocking_schedules", "create_schedule", "delete_schedule", "describe", "fire", "first_fire", "get_schedule",
    "list_schedules", "list_watched", "register_checks", "resolve_target", "set_status", "update_schedule",
]

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
    unknown = sorted(set(watch) - set(TRIGGER_KEYS))
    if unknown:
        raise ScheduleError(f"unknown option; valid: {', '.join(TRIGGER_KEYS[1:])}", field=unknown[0])
    check_misfire(misfire, misfire_cap)
    state = parse_status(status)
    _, published = target_of(svc, published_pipeline_id, pipeline_endpoint_id)
    declared = declared_parameters(svc, published)
    parameters = check_parameters(svc, declared, pipeline_parameters)
    rec = build_recurrence(recurrence, cron, time_zone, start_time, end_time)
    if (rec is None) == (datastore is None):
        raise ScheduleError("give either a recurrence (or cron) or a datastore to watch", field="recurrence")
    files: dict[str, str] | None = None
    if rec is not None:
        stray = [k for k in ("path_on_datastore", "data_path_parameter_name") if watch.get(k) is not None]
        if stray:
            raise ScheduleError("only datastore schedules take this option", field=stray[0])
        kind, trigger = ScheduleKind.RECURRENCE, rec.to_dict()
    else:
        kind, trigger = ScheduleKind.DATASTORE, watch_trigger(svc, declared, {"datastore": datastore, **watch})
        files = list_watched(svc, trigger, missing_ok=True)  # files present now never fire
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
    state = parse_status(status)
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
    now = clock.now()
    fresh = replace(record, **changes)
    changes["next_fire_at"] = first_fire(fresh, now)
    changes["failures"] = 0
    if fresh.kind is ScheduleKind.DATASTORE:
        baseline = list_watched(svc, fresh.trigger, missing_ok=True)
        old = svc.store.get_schedule_files(record.id)
        # A person's change overrides any scheduler's lease (changes clear it): no owner condition.
        updated = svc.store.save_schedule_state(
            record.id, owner=None, changes=changes, files=(baseline, [p for p in old if p not in baseline]))
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
    check_misfire(misfire, cap)
    changes.update(misfire=misfire, misfire_cap=cap)
    published, _ = resolve_target(svc, record)
    declared = declared_parameters(svc, published)
    if "pipeline_parameters" in options:
        changes["parameters"] = check_parameters(svc, declared, options.pop("pipeline_parameters"))
    status = parse_status(options.pop("status", record.status))
    restart = status is EntityStatus.ACTIVE and record.status is not EntityStatus.ACTIVE
    time_keys = {"recurrence", "cron", "time_zone", "start_time", "end_time"} & set(options)
    watch_keys = set(TRIGGER_KEYS) & set(options)
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
            changes["trigger"] = watch_trigger(svc, declared, merged)
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
        return build_recurrence(options.get("recurrence"), options.get("cron"), options.get("time_zone"),
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
