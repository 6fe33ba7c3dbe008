"""Event triggers: create, list, get, enable/disable, delete, their ticks and runs, and the inbound
``POST /triggers/{name}/events`` (plain JSON, Azure Event Grid with its validation handshake, S3 event
notifications), authenticated by a submitter's token as a Bearer header or ``?token=``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from headrace.schemas import RunList
from headrace.schemas.events import TriggerCreate, TriggerList, TriggerRead, TriggerTickList, TriggerTickRead
from headrace.server import convert
from headrace.server.deps import (
    API_PREFIX,
    BaseUrl,
    ManageTriggers,
    PostEvent,
    Reader,
    ServicesDep,
    _read_json,
    body_doc,
    json_body,
)
from headrace.services import triggers
from headrace.storage.event_records import TriggerRecord
from headrace.storage.records import EntityStatus

router = APIRouter(prefix="/triggers", tags=["triggers"])
CreateBody = Annotated[TriggerCreate, Depends(json_body(TriggerCreate))]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]


def trigger_read(record: TriggerRecord, base_url: str | None = None) -> TriggerRead:
    url = f"{base_url}{API_PREFIX}/triggers/{record.name}/events" if base_url and record.event == "http" else None
    return TriggerRead(id=record.id, name=record.name, event=record.event, status=record.status.value,
                       experiment_name=record.experiment_name, pipeline_id=record.published_pipeline_id,
                       pipeline_endpoint_id=record.pipeline_endpoint_id, filters=dict(record.filters),
                       pipeline_parameters=dict(record.parameters), description=record.description,
                       created_at=record.created_at, updated_at=record.updated_at, events_url=url)


@router.get("", response_model=TriggerList)
def list_triggers(_: Reader, svc: ServicesDep, base: BaseUrl, active_only: bool = False) -> TriggerList:
    return TriggerList(value=[trigger_read(r, base) for r in triggers.list_triggers(svc, active_only=active_only)])


@router.post("", response_model=TriggerRead, openapi_extra=body_doc(TriggerCreate))
def create_trigger(_: ManageTriggers, svc: ServicesDep, base: BaseUrl, body: CreateBody) -> TriggerRead:
    """Start a published pipeline (or an endpoint's default version) when an event arrives.

    400 for an unknown event (the valid ones are listed), a malformed expression or parameter; 404 for
    an unknown pipeline or endpoint; 409 when the name is taken.
    """
    from headrace.services.schedule_rules import parse_status

    record = triggers.create_trigger(
        svc, body.name, event=body.event, experiment_name=body.experiment_name, pipeline_id=body.pipeline_id,
        pipeline_endpoint_id=body.pipeline_endpoint_id, filters=body.filters,
        pipeline_parameters=body.pipeline_parameters, description=body.description, status=parse_status(body.status))
    return trigger_read(record, base)


@router.get("/{key}", response_model=TriggerRead)
def get_trigger(key: str, _: Reader, svc: ServicesDep, base: BaseUrl) -> TriggerRead:
    """A trigger by id or name."""
    return trigger_read(triggers.get_trigger(svc, key), base)


@router.post("/{key}/enable", response_model=TriggerRead)
def enable_trigger(key: str, _: ManageTriggers, svc: ServicesDep, base: BaseUrl) -> TriggerRead:
    return trigger_read(triggers.set_status(svc, key, EntityStatus.ACTIVE), base)


@router.post("/{key}/disable", response_model=TriggerRead)
def disable_trigger(key: str, _: ManageTriggers, svc: ServicesDep, base: BaseUrl) -> TriggerRead:
    return trigger_read(triggers.set_status(svc, key, EntityStatus.DISABLED), base)


@router.delete("/{key}", status_code=204, response_class=Response)
def delete_trigger(key: str, _: ManageTriggers, svc: ServicesDep) -> Response:
    """Delete a trigger with its ticks (its runs stay)."""
    triggers.delete_trigger(svc, key)
    return Response(status_code=204)


@router.get("/{key}/ticks", response_model=TriggerTickList)
def trigger_ticks(key: str, _: Reader, svc: ServicesDep, limit: Limit = 100) -> TriggerTickList:
    """Every evaluation, newest first: fired, skipped or failed, why, and the runs created."""
    return TriggerTickList(value=[TriggerTickRead(id=t.id, trigger_id=t.trigger_id, evaluated_at=t.evaluated_at,
                                                  outcome=t.outcome, event_id=t.event_id, reason=t.reason,
                                                  run_ids=list(t.run_ids))
                                  for t in triggers.list_ticks(svc, key, limit=limit)])


@router.get("/{key}/runs", response_model=RunList)
def trigger_runs(key: str, _: Reader, svc: ServicesDep, limit: Limit = 100) -> RunList:
    """The runs the trigger started, newest first (``Trigger.get_pipeline_runs``)."""
    return RunList(Value=[convert.run_read(r) for r in triggers.list_runs(svc, key, limit=limit)])


@router.post("/{key}/events")
async def post_event(key: str, request: Request, _: PostEvent, svc: ServicesDep,
                     idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None
                     ) -> dict[str, Any]:
    """Fire an ``http`` trigger: a plain JSON event, an Azure Event Grid array (each event fires once; the
    subscription validation handshake is answered) or an S3 event notification (one fire per record).

    Each event fires at most once: a repeat of an event id (Event Grid ``id``, the S3 object's sequencer,
    a plain body's ``id`` or ``Idempotency-Key``, else its content) returns the first run. 400
    ``InvalidEvent`` names a field the trigger's parameters read and the event lacks; nothing is fired then.
    """
    import anyio

    body = await _read_json(request)
    return await anyio.to_thread.run_sync(lambda: triggers.fire_inbound(svc, key, body, event_id=idempotency_key))
