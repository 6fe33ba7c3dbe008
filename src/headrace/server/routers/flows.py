"""Published prompt flows: publish a version, list, get, set the default, enable/disable, and score.

``POST /flows/{name}/score`` has the ``/score`` contract of ``headrace flow serve`` (see
``server.flow_app``): the flow's inputs as a JSON object in, its outputs out, Server-Sent Events with
``Accept: text/event-stream``; errors in the REST API's usual body. Scoring needs the submitter role,
since it spends model tokens. The flow's path parameter is ``flow_name``.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from headrace.errors import HeadraceError
from headrace.schemas.flows import FlowDefaultUpdate, FlowList, FlowPublish, FlowRead, FlowVersionRead
from headrace.server.deps import BaseUrl, ChangePublished, Publish, Reader, ScoreFlow, ServicesDep, json_body
from headrace.server.errors import classify, internal_error
from headrace.server.flow_app import SSE_MEDIA_TYPE, negotiate, read_inputs, score_response
from headrace.services import flows
from headrace.storage.records import EntityStatus, PublishedFlowRecord

router = APIRouter(prefix="/flows", tags=["prompt flows"])
ActiveOnly = Annotated[bool, Query(alias="activeOnly", description="Hide disabled flows.")]
_runtime_lock = threading.Lock()

SCORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The flow's outputs (JSON), or Server-Sent Events with Accept: text/event-stream",
          "content": {"application/json": {"schema": {"type": "object"}}, SSE_MEDIA_TYPE: {}}},
    406: {"description": "The Accept header allows neither JSON nor an event stream"},
    424: {"description": "The model API failed (after retries)"},
}


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body parsed by ``json_body``, its schema inline."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def runtime(request: Request) -> Any:
    """The app's ``FlowRuntime`` (made on first use: it keeps loaded flows and the LLM runner)."""
    state = request.app.state
    with _runtime_lock:
        found = getattr(state, "flow_runtime", None)
        if found is None:
            from headrace.services.flow_runtime import FlowRuntime

            found = state.flow_runtime = FlowRuntime(state.services)
    return found


RuntimeDep = Annotated[Any, Depends(runtime)]


def flow_read(record: PublishedFlowRecord, base: str) -> FlowRead:
    default = record.version()
    versions = [FlowVersionRead(Version=v.version, SnapshotDigest=v.snapshot, Description=v.description,
                                CreatedTime=v.created_at, Interface=v.interface) for v in record.versions]
    return FlowRead(Name=record.name, Status=record.status.value, DefaultVersion=record.default_version,
                    Description=default.description if default else None,
                    Endpoint=f"{base}/api/v1/flows/{record.name}/score", Versions=versions,
                    CreatedTime=record.created_at, UpdatedTime=record.updated_at)


@router.post("", response_model=FlowRead, openapi_extra=_body_doc(FlowPublish))
def publish_flow(
    _: Publish, svc: ServicesDep, rt: RuntimeDep, base: BaseUrl,
    body: Annotated[FlowPublish, Depends(json_body(FlowPublish))],
) -> FlowRead:
    """Publish an uploaded flow folder snapshot as a new version (400 listing the problems if it does not load)."""
    record = flows.publish_flow(svc, name=body.Name, snapshot=body.SnapshotDigest, version=body.Version,
                                description=body.Description, make_default=body.MakeDefault, runtime=rt)
    return flow_read(record, base)


@router.get("", response_model=FlowList)
def list_flows(_: Reader, svc: ServicesDep, base: BaseUrl, active_only: ActiveOnly = True) -> FlowList:
    return FlowList(Value=[flow_read(r, base) for r in flows.list_flows(svc, active_only=active_only)])


@router.get("/{flow_name}", response_model=FlowRead)
def get_flow(flow_name: str, _: Reader, svc: ServicesDep, base: BaseUrl) -> FlowRead:
    """A flow with its versions, each with the inputs and outputs it takes and gives."""
    return flow_read(flows.get_flow(svc, flow_name), base)


@router.put("/{flow_name}/default-version", response_model=FlowRead, openapi_extra=_body_doc(FlowDefaultUpdate))
def set_default_version(
    flow_name: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl,
    body: Annotated[FlowDefaultUpdate, Depends(json_body(FlowDefaultUpdate))],
) -> FlowRead:
    return flow_read(flows.set_default_version(svc, flow_name, body.Version), base)


@router.post("/{flow_name}/enable", response_model=FlowRead)
def enable_flow(flow_name: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl) -> FlowRead:
    return flow_read(flows.set_status(svc, flow_name, EntityStatus.ACTIVE), base)


@router.post("/{flow_name}/disable", response_model=FlowRead)
def disable_flow(flow_name: str, _: ChangePublished, svc: ServicesDep, base: BaseUrl) -> FlowRead:
    """Scoring answers 409 until the flow is enabled again."""
    return flow_read(flows.set_status(svc, flow_name, EntityStatus.DISABLED), base)


@router.post("/{flow_name}/score", responses=SCORE_RESPONSES, response_model=None)
async def score_flow(
    flow_name: str, request: Request, _: ScoreFlow, svc: ServicesDep, rt: RuntimeDep,
    version: Annotated[int | None, Query(ge=1, description="The version to score (default: the default one).")] = None,
) -> Response:
    """Run the flow once: a JSON object of its inputs in, its outputs out (SSE with Accept: text/event-stream)."""
    fmt = negotiate(request.headers.get("accept"))
    flow, number = await anyio.to_thread.run_sync(flows.published_flow, svc, rt, flow_name, version)
    inputs = await read_inputs(request, flow.spec)
    if hasattr(rt.llm, "open_session"):
        rt.llm.open_session()  # model connections kept for the app's life (closed at shutdown)
    return await score_response(flow, inputs, llm=rt.llm, fmt=fmt, error_body=_error_body,
                                headers={"X-Flow-Version": str(number)})


def _error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The REST API's error body, for an error in the middle of an event stream."""
    if isinstance(exc, HeadraceError):
        status, code, target = classify(exc)
        if code != "InternalError":
            return status, {"Error": {"Code": code, "Message": str(exc), "Target": target}}
    return 500, json.loads(bytes(internal_error(None, exc).body))

