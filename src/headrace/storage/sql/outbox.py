"""Writing events into the outbox inside the store's own transactions.

The SQL store calls these with the connection of the change an event tells about, so the event
commits or rolls back with it. Another store family (models, datasets) emits the same way:
``outbox.insert_event(conn, "model.version_registered", {...})`` inside its write transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from headrace import clock
from headrace.storage.records import RunRecord, RunStatus, ScheduleRecord, ScheduleTickRecord, StepRunRecord
from headrace.storage.sql import tables as t

__all__ = ["RUN_EVENTS", "dataset_registered", "insert_event", "model_registered", "model_stage_changed", "run_event", "schedule_events",
           "step_failed"]

_INSERT = insert(t.events)

RUN_EVENTS = {
    RunStatus.QUEUED: "run.queued",
    RunStatus.RUNNING: "run.started",
    RunStatus.FINISHED: "run.finished",
    RunStatus.FAILED: "run.failed",
    RunStatus.CANCELED: "run.canceled",
}
"""The event a run's new status raises."""


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def insert_event(conn: Connection, type: str, data: Mapping[str, Any], *, at: datetime | None = None) -> str:
    """Append one event in ``conn``'s transaction; returns its id."""
    event_id = new_event_id()
    conn.execute(_INSERT, {"id": event_id, "type": type, "created_at": at or clock.now(), "data": dict(data),
                           "dispatched_at": None})
    return event_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_data(run: RunRecord) -> dict[str, Any]:
    """What every run event says about its run."""
    return {
        "run_id": run.id, "experiment_name": run.experiment_name, "status": str(run.status),
        "pipeline_id": run.pipeline_id, "published_pipeline_id": run.published_pipeline_id,
        "pipeline_endpoint_id": run.pipeline_endpoint_id, "schedule_id": run.schedule_id,
        "description": run.description, "run_source": run.run_source, "tags": dict(run.tags),
        "error": run.error, "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
    }


def run_event(conn: Connection, run: RunRecord, *, created: bool = False) -> None:
    """The event of ``run``'s current status: on creation only Queued/Running runs tell, later any
    status but a return to the queue (an orphan requeued)."""
    if run.status is RunStatus.QUEUED and not created:
        return
    event = RUN_EVENTS.get(run.status)
    if event is not None:
        insert_event(conn, event, run_data(run))


def step_failed(conn: Connection, step: StepRunRecord, run: RunRecord | None) -> None:
    data = {"run_id": step.run_id, "step_run_id": step.id, "step_name": step.name, "error": step.error,
            "exit_code": step.exit_code, "ended_at": _iso(step.ended_at)}
    if run is not None:
        data.update(experiment_name=run.experiment_name, published_pipeline_id=run.published_pipeline_id,
                    pipeline_endpoint_id=run.pipeline_endpoint_id, pipeline_id=run.pipeline_id)
    insert_event(conn, "step.failed", data)


def _schedule_data(record: ScheduleRecord) -> dict[str, Any]:
    return {"schedule_id": record.id, "schedule_name": record.name, "experiment_name": record.experiment_name,
            "published_pipeline_id": record.published_pipeline_id,
            "pipeline_endpoint_id": record.pipeline_endpoint_id, "status": record.status.value}


def schedule_events(conn: Connection, record: ScheduleRecord, *, disabled: bool,
                    ticks: tuple[ScheduleTickRecord, ...] | list[ScheduleTickRecord] = ()) -> None:
    """``schedule.disabled`` when this change disabled it; ``schedule.fire_failed`` per failed tick."""
    if disabled:
        insert_event(conn, "schedule.disabled", _schedule_data(record))
    for tick in ticks:
        if tick.outcome.value == "failed":
            insert_event(conn, "schedule.fire_failed", {**_schedule_data(record), "reason": tick.reason,
                                                         "slot_time": _iso(tick.slot_time), "tick_id": tick.id})


def _model_data(record: Any) -> dict[str, Any]:
    return {"model_name": record.name, "version": record.version, "model_id": record.id, "stage": record.stage,
            "run_id": record.run_id, "step_name": record.step_name, "experiment_name": record.experiment_name,
            "tags": dict(record.tags or {}), "created_by": record.created_by,
            "model": {"name": record.name, "version": record.version, "id": record.id, "stage": record.stage}}


def model_registered(conn: Connection, record: Any) -> None:
    """``model.version_registered`` for a new model version (a ``ModelRecord``)."""
    insert_event(conn, "model.version_registered", _model_data(record))


def model_stage_changed(conn: Connection, record: Any, change: Any) -> None:
    """``model.stage_changed`` for one move of a version (a ``StageChangeRecord``; ``record`` its version after)."""
    data = _model_data(record)
    data.update(version=change.version, stage=change.to_stage, from_stage=change.from_stage,
                changed_by=change.changed_by, comment=change.comment,
                model={**data["model"], "version": change.version, "stage": change.to_stage})
    insert_event(conn, "model.stage_changed", data)


def dataset_registered(conn: Connection, record: Any) -> None:
    """``dataset.version_registered`` for a new named dataset version (a ``DatasetRecord``)."""
    insert_event(conn, "dataset.version_registered", {
        "dataset_name": record.name, "version": record.version, "dataset_id": record.id, "kind": record.kind,
        "file_count": record.file_count, "total_bytes": record.total_bytes, "tags": dict(record.tags or {}),
        "run_id": record.created_by_run})
