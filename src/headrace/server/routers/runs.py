"""Pipeline runs: list, get, steps, logs, metrics, cancel, publish, and running a stored graph."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import PlainTextResponse, Response

from headrace.schemas import (
    CURSOR_PATTERN,
    PublishedPipelineRead,
    RunCreate,
    RunList,
    RunPublish,
    RunRead,
    StepRunList,
    StepRunRead,
)
from headrace.server import convert, logs
from headrace.server.deps import (
    AgentDep,
    BaseUrl,
    CancelRun,
    IdempotencyKey,
    Publish,
    Reader,
    ServicesDep,
    SubmitRun,
    body_doc,
    json_body,
)
from headrace.services import graphs, publishing
from headrace.services import runs as run_service
from headrace.storage.records import RunStatus

router = APIRouter(tags=["runs"])


@router.get("/runs", response_model=RunList)
def list_runs(
    _: Reader, svc: ServicesDep,
    experiment_name: Annotated[str | None, Query(alias="experimentName")] = None,
    status: Annotated[list[RunStatus] | None, Query(description="Repeat to match several statuses.")] = None,
    pipeline_id: Annotated[str | None, Query(alias="pipelineId", description="A published pipeline id.")] = None,
    endpoint_id: Annotated[str | None, Query(alias="pipelineEndpointId")] = None,
    parent_run_id: Annotated[str | None, Query(alias="parentRunId", max_length=64, description="Its children.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(alias="continuationToken", max_length=500, pattern=CURSOR_PATTERN)] = None,
) -> RunList:
    """Runs newest first; pass the returned ``ContinuationToken`` as ``continuationToken`` for the next page."""
    page, token = run_service.list_runs(
        svc, experiment_name=experiment_name, statuses=status, published_pipeline_id=pipeline_id,
        pipeline_endpoint_id=endpoint_id, parent_run_id=parent_run_id, limit=limit, cursor=cursor,
    )
    return RunList(Value=[convert.run_read(r) for r in page], ContinuationToken=token)


@router.get("/runs/{run_id}", response_model=RunRead)
def get_run(run_id: str, _: Reader, svc: ServicesDep) -> RunRead:
    """A run with its parameters and its steps (status, reuse, times)."""
    return convert.run_read(svc.store.get_run(run_id), svc.store.list_step_runs(run_id))


@router.get("/runs/{run_id}/steps", response_model=StepRunList)
def list_steps(run_id: str, _: Reader, svc: ServicesDep) -> StepRunList:
    svc.store.get_run(run_id)
    return StepRunList(Value=[convert.step_read(s) for s in svc.store.list_step_runs(run_id)])


@router.get("/step-runs/{step_run_id}", response_model=StepRunRead)
def get_step_run(step_run_id: str, _: Reader, svc: ServicesDep) -> StepRunRead:
    return convert.step_read(svc.store.get_step_run(step_run_id))


@router.get("/runs/{run_id}/steps/{step}/logs", response_class=PlainTextResponse, responses=logs.RESPONSES)
def step_log(
    run_id: str, step: str, _: Reader, svc: ServicesDep,
    log: Literal["stdout", "stderr", "execution"] = "stdout",
    tail: Annotated[int | None, Query(ge=0, le=1_000_000, description=logs.TAIL_DOC)] = None,
    offset: Annotated[int | None, Query(ge=0, description=logs.OFFSET_DOC)] = None,
    max_bytes: Annotated[int | None, Query(alias="maxBytes", ge=1, le=logs.MAX_PAGE_BYTES)] = None,
    range_header: Annotated[str | None, Header(alias="Range", max_length=200, description=logs.RANGE_DOC)] = None,
) -> Response:
    """A step's log as text; ``step`` is the step name or the step run id. Without ``Range``,
    ``offset`` or ``tail``: the last 1 MiB at most (``X-Log-Truncated: true`` when that cuts)."""
    record = run_service.get_step_run(svc, run_id, step)
    return logs.log_response(svc, record, log, range_header=range_header, offset=offset, max_bytes=max_bytes,
                             tail=tail)


@router.get("/runs/{run_id}/metrics", response_model=dict[str, Any])
def run_metrics(run_id: str, _: Reader, svc: ServicesDep) -> dict[str, Any]:
    """Values logged on the pipeline run itself: name -> value, or a list for a series."""
    return run_service.pipeline_metrics(svc, run_id)


@router.get("/runs/{run_id}/steps/{step}/metrics", response_model=dict[str, Any])
def step_metrics(run_id: str, step: str, _: Reader, svc: ServicesDep) -> dict[str, Any]:
    """Values a step logged (a reused step: those of the step run it reused)."""
    record = run_service.get_step_run(svc, run_id, step)
    return run_service.metrics_dict(run_service.step_metrics(svc, record))


@router.post("/runs/{run_id}/cancel", response_model=RunRead)
def cancel_run(run_id: str, _: CancelRun, svc: ServicesDep, agent: AgentDep) -> RunRead:
    """Cancel a run: a queued one ends at once, a running one is stopped by its agent."""
    run = run_service.cancel_run(svc, run_id)
    if agent is not None:
        agent.cancel(run_id)
    return convert.run_read(run)


@router.post("/runs/{run_id}/publish", response_model=PublishedPipelineRead, openapi_extra=body_doc(RunPublish))
def publish_run(
    run_id: str, _: Publish, svc: ServicesDep, base: BaseUrl,
    body: Annotated[RunPublish, Depends(json_body(RunPublish))],
) -> PublishedPipelineRead:
    """Publish the graph this run executed (``PipelineRun.publish_pipeline``)."""
    record = publishing.publish_run(svc, run_id, name=body.Name, description=body.Description,
                                    version=body.Version, continue_on_step_failure=body.ContinueRunOnStepFailure)
    return convert.published_read(record, svc.store.get_pipeline(record.pipeline_id).graph, base)


@router.post("/runs", response_model=RunRead, openapi_extra=body_doc(RunCreate))
def create_run(
    _: SubmitRun, svc: ServicesDep, body: Annotated[RunCreate, Depends(json_body(RunCreate))],
    key: IdempotencyKey = None,
) -> RunRead:
    """Run a graph stored with ``POST /graphs`` (the remote SDK's ``Experiment.submit``)."""
    parameters = convert.parameter_values(body.ParameterAssignments, body.DataPathAssignments)
    run, _created = graphs.submit_graph(
        svc, body.GraphId, body.ExperimentName, pipeline_parameters=parameters, tags=body.Tags,
        continue_on_step_failure=body.ContinueRunOnStepFailure, regenerate_outputs=body.RegenerateOutputs,
        description=body.Description, run_source="SDK", idempotency_key=key, kind=body.Kind,
        parent_run_id=body.ParentRunId,
    )
    return convert.run_read(run)
