"""Event triggers: a published pipeline or endpoint started when an event arrives.

A trigger listens to one headrace event (``run.finished``, ``model.stage_changed``, ...; the dispatcher
in ``services.events`` evaluates it) or to ``http``: bodies posted to ``/api/v1/triggers/{name}/events``
(``fire_inbound``). Its parameters may read the event with ``@triggerBody().field.path``. Each event fires
a trigger at most once: the event's id is the fire key, as a slot's is for schedules. Every evaluation is
a tick (fired, skipped or failed, and why).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headrace import clock
from headrace.core.events import HTTP_EVENT, check_event_types, check_filters, matches
from headrace.core.expressions import TriggerContext, evaluate
from headrace.errors import EventError, HeadraceError, StoreError
from headrace.services import inbound
from headrace.services.bundle import Services
from headrace.services.publishing import check_name, submit_published
from headrace.services.schedule_rules import check_parameters, declared_parameters, resolve_target, target_of
from headrace.storage.event_records import TriggerRecord, TriggerTickRecord
from headrace.storage.records import EntityStatus, RunRecord

__all__ = ["create_trigger", "delete_trigger", "evaluate_event", "fire_inbound", "get_trigger", "list_ticks",
           "list_triggers", "set_status"]


def create_trigger(svc: Services, name: str, *, event: str, experiment_name: str,
                   pipeline_id: str | None = None, pipeline_endpoint_id: str | None = None,
                   filters: Mapping[str, Any] | None = None, pipeline_parameters: Mapping[str, Any] | None = None,
                   description: str | None = None, status: EntityStatus | str = EntityStatus.ACTIVE) -> TriggerRecord:
    """Create a trigger of a published pipeline (``pipeline_id``) or an endpoint's default version.

    Raises:
        EventError: an unknown event (the valid ones are listed) or malformed filters.
        ScheduleError: both or neither target, or a malformed ``@`` expression.
        ParameterError: an unknown parameter or a literal value of the wrong type.
        NotFoundError: no such pipeline or endpoint. AlreadyExistsError: the name is taken.
    """
    check_name("trigger", name)
    check_name("experiment", experiment_name)
    kind = check_event_types([event], allow_http=True, field="event")[0]
    _, published = target_of(svc, pipeline_id, pipeline_endpoint_id)
    parameters = check_parameters(svc, declared_parameters(svc, published), pipeline_parameters)
    now = clock.now()
    record = TriggerRecord(
        id=uuid.uuid4().hex, name=name, event=kind, status=EntityStatus(status), experiment_name=experiment_name,
        created_at=now, updated_at=now, published_pipeline_id=pipeline_id or None,
        pipeline_endpoint_id=pipeline_endpoint_id or None, filters=check_filters(filters), parameters=parameters,
        description=description)
    return svc.store.create_trigger(record)


def get_trigger(svc: Services, key: str) -> TriggerRecord:
    """A trigger by id or name. Raises: NotFoundError."""
    return svc.store.get_trigger(key)


def list_triggers(svc: Services, *, active_only: bool = False) -> list[TriggerRecord]:
    return svc.store.list_triggers(active_only=active_only)


def set_status(svc: Services, key: str, status: EntityStatus | str) -> TriggerRecord:
    return svc.store.update_trigger(get_trigger(svc, key).id, status=EntityStatus(status), updated_at=clock.now())


def delete_trigger(svc: Services, key: str) -> None:
    svc.store.delete_trigger(get_trigger(svc, key).id)


def list_ticks(svc: Services, key: str, *, limit: int = 100) -> list[TriggerTickRecord]:
    return svc.store.list_trigger_ticks(get_trigger(svc, key).id, limit=limit)


def list_runs(svc: Services, key: str, *, limit: int = 100) -> list[RunRecord]:
    record = get_trigger(svc, key)
    return svc.store.list_runs(tags={"headrace.trigger_id": record.id}, limit=limit)[0]


def _fire(svc: Services, record: TriggerRecord, event_id: str, body: Any) -> tuple[RunRecord, bool]:
    """Submit the run of one event; a new run's tick goes in with it (one transaction)."""
    published, endpoint = resolve_target(svc, record)  # type: ignore[arg-type]
    run_id = uuid.uuid4().hex
    now = clock.now()
    ctx = TriggerContext(scheduled_time=now, start_time=now, run_id=run_id, created_by="trigger", body=body)
    parameters = {name: evaluate(value, ctx, name=name) for name, value in record.parameters.items()}
    tags = {"headrace.trigger_id": record.id, "headrace.trigger": record.name, "headrace.event_id": event_id[:200]}
    return submit_published(
        svc, published.id, record.experiment_name, pipeline_parameters=parameters, tags=tags,
        description=record.description, run_source="Trigger", endpoint=endpoint, run_id=run_id,
        trigger_fire=(record.id, event_id, _tick(record, event_id, "fired", "", [run_id])),
        properties={"trigger": {"id": record.id, "event_id": event_id}},
    )


def _tick(record: TriggerRecord, event_id: str, outcome: str, reason: str = "",
          runs: list[str] | None = None) -> TriggerTickRecord:
    return TriggerTickRecord(id=uuid.uuid4().hex, trigger_id=record.id, evaluated_at=clock.now(), outcome=outcome,
                             event_id=event_id[:64], reason=reason, run_ids=runs or [])


def evaluate_event(svc: Services, record: TriggerRecord, event_id: str, body: Any,
                   data: Mapping[str, Any] | None = None, *, strict: bool = False) -> TriggerTickRecord:
    """Fire ``record`` on one event unless its filters skip it; the tick is recorded and returned.

    ``data`` is what filters read (the event's ``data``; default the body). With ``strict``, a body the
    mapping cannot read raises instead of only being recorded (an inbound post answers 400).

    Raises:
        StoreError: the store failed (nothing recorded).
        EventError: with ``strict``, the body lacks a field the parameters read.
    """
    if not matches(record.filters, data if data is not None else body):
        tick = _tick(record, event_id, "skipped", "the event does not pass the trigger's filters")
    else:
        try:
            run, created = _fire(svc, record, event_id, body)
        except StoreError:
            raise
        except HeadraceError as exc:
            tick = _tick(record, event_id, "failed", f"{type(exc).__name__}: {exc}")
            svc.store.add_trigger_ticks([tick])
            if strict:
                raise
            return tick
        if created:  # its tick went in with the run
            return _tick(record, event_id, "fired", "", [run.id])
        tick = _tick(record, event_id, "fired", f"run {run.id} already existed for this event (fired once)", [run.id])
    svc.store.add_trigger_ticks([tick])
    return tick


def fire_inbound(svc: Services, key: str, body: Any, *, event_id: str | None = None) -> dict[str, Any]:
    """Handle a body posted to an ``http`` trigger; returns what to answer.

    Returns:
        ``{"validationResponse": ...}`` for an Event Grid handshake, else ``{"trigger", "events": [{"id",
        "outcome", "runs", "reason"}]}``.

    Raises:
        NotFoundError: no such trigger. ConflictError: it is disabled or listens to headrace events.
        EventError: a body the trigger's mapping cannot read (the missing field is named).
    """
    from headrace.errors import ConflictError

    record = get_trigger(svc, key)
    if record.event != HTTP_EVENT:
        raise ConflictError(f"trigger {record.name!r} listens to {record.event!r} events, not posted ones "
                            f"(create it with event='http')")
    if record.status is not EntityStatus.ACTIVE:
        raise ConflictError(f"trigger {record.name!r} is disabled; enable it to accept events")
    parsed = inbound.parse(body, event_id=event_id)
    if parsed.validation_response is not None:
        return parsed.validation_response
    # Check every event before firing any: a bad element of an array fires none of it.
    for eid, item in parsed.events:
        _check_mapping(record, item, eid)
    results = []
    for eid, item in parsed.events:
        tick = evaluate_event(svc, record, eid, item, strict=True)
        results.append({"id": eid, "outcome": tick.outcome, "runs": tick.run_ids, "reason": tick.reason})
    return {"trigger": record.name, "kind": parsed.kind, "events": results}


def _check_mapping(record: TriggerRecord, body: Any, event_id: str) -> None:
    ctx = TriggerContext(scheduled_time=clock.now(), start_time=clock.now(), run_id="check", created_by="trigger",
                         body=body)
    for name, value in record.parameters.items():
        try:
            evaluate(value, ctx, name=name)
        except EventError as exc:
            reason = str(exc).removeprefix(f"{exc.field}: ")
            raise EventError(f"event {event_id}: {reason}", field=exc.field) from None
