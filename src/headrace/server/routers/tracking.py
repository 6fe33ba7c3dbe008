"""The Run API over REST: interactive runs, logged values, tags, properties and run files of any run or step run.

What a notebook's ``Run`` object calls against a remote workspace (scripts log through their context folder).
``{step}`` is a step name or a step run id, as in the other step routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from headrace.schemas import ExperimentRead, RunRead
from headrace.schemas.tracking import (
    LoggedCount,
    MetricsLog,
    PropertiesAdd,
    RunEnd,
    RunFileList,
    RunStart,
    TagsUpdate,
)
from headrace.server import convert
from headrace.server.deps import (
    RAW_BODY_DOC,
    AgentDep,
    RawBody,
    Reader,
    ServicesDep,
    SubmitRun,
    body_doc,
    json_body,
)
from headrace.services import runs as run_service
from headrace.services import tracking
from headrace.storage.records import RunKind

router = APIRouter(tags=["run tracking"])


def _step_id(svc: ServicesDep, run_id: str, step: str | None) -> str | None:
    return None if step is None else run_service.get_step_run(svc, run_id, step).id


@router.put("/experiments/{name}", response_model=ExperimentRead)
def create_experiment(name: str, _: SubmitRun, svc: ServicesDep) -> ExperimentRead:
    """Create the experiment (``Experiment(ws, name)``); an existing one is returned as it is."""
    run_service._check_experiment_name(name)
    return convert.experiment_read(svc.store.get_or_create_experiment(name))


@router.post("/experiments/{name}/runs", response_model=RunRead, openapi_extra=body_doc(RunStart))
def start_run(name: str, _: SubmitRun, svc: ServicesDep,
              body: Annotated[RunStart, Depends(json_body(RunStart))]) -> RunRead:
    """Start an interactive run, Running at once and written by its caller (``Experiment.start_logging``); the
    experiment must exist (``PUT /experiments/{name}``, which ``Experiment(ws, name)`` sends)."""
    svc.store.get_experiment(name)
    return convert.run_read(tracking.start_run(
        svc, name, kind=RunKind(body.Kind), parent_run_id=body.ParentRunId, tags=body.Tags,
        properties=body.Properties, description=body.Description))


@router.post("/runs/{run_id}/end", response_model=RunRead, openapi_extra=body_doc(RunEnd))
def end_run(run_id: str, _: SubmitRun, svc: ServicesDep, agent: AgentDep,
            body: Annotated[RunEnd, Depends(json_body(RunEnd))]) -> RunRead:
    """``complete()``, ``fail()`` or ``cancel()`` a run (an agent's run: cancel stops it, complete changes nothing)."""
    run = tracking.end_run(svc, run_id, body.Status, body.Error)
    if agent is not None and body.Status != "Completed" and run.kind.agent_runs_it:
        agent.cancel(run_id)
    return convert.run_read(run)


@router.post("/runs/{run_id}/metrics", response_model=LoggedCount, openapi_extra=body_doc(MetricsLog))
def log_run_metrics(run_id: str, _: SubmitRun, svc: ServicesDep,
                    body: Annotated[MetricsLog, Depends(json_body(MetricsLog))]) -> LoggedCount:
    """Append values logged on the run itself."""
    return LoggedCount(Logged=tracking.log_metrics(svc, run_id, None, _values(body)))


@router.post("/runs/{run_id}/steps/{step}/metrics", response_model=LoggedCount, openapi_extra=body_doc(MetricsLog))
def log_step_metrics(run_id: str, step: str, _: SubmitRun, svc: ServicesDep,
                     body: Annotated[MetricsLog, Depends(json_body(MetricsLog))]) -> LoggedCount:
    """Append values logged on a step run."""
    return LoggedCount(Logged=tracking.log_metrics(svc, run_id, _step_id(svc, run_id, step), _values(body)))


def _values(body: MetricsLog) -> list[dict]:
    return [{"name": v.Name, "value": v.Value, "kind": v.Kind, "seq": v.Seq} for v in body.Values]


@router.patch("/runs/{run_id}/tags", response_model=dict[str, str], openapi_extra=body_doc(TagsUpdate))
def update_run_tags(run_id: str, _: SubmitRun, svc: ServicesDep,
                    body: Annotated[TagsUpdate, Depends(json_body(TagsUpdate))]) -> dict[str, str]:
    """Set and remove tags of the run; returns all its tags."""
    return tracking.update_tags(svc, run_id, None, body.Tags or {}, body.Remove)


@router.patch("/runs/{run_id}/steps/{step}/tags", response_model=dict[str, str], openapi_extra=body_doc(TagsUpdate))
def update_step_tags(run_id: str, step: str, _: SubmitRun, svc: ServicesDep,
                     body: Annotated[TagsUpdate, Depends(json_body(TagsUpdate))]) -> dict[str, str]:
    """Set and remove tags of a step run; returns all its tags."""
    return tracking.update_tags(svc, run_id, _step_id(svc, run_id, step), body.Tags or {}, body.Remove)


@router.post("/runs/{run_id}/properties", response_model=dict, openapi_extra=body_doc(PropertiesAdd))
def add_run_properties(run_id: str, _: SubmitRun, svc: ServicesDep,
                       body: Annotated[PropertiesAdd, Depends(json_body(PropertiesAdd))]) -> dict:
    """Add properties to the run (409 when one is already set to another value)."""
    return tracking.add_properties(svc, run_id, None, body.Properties)


@router.post("/runs/{run_id}/steps/{step}/properties", response_model=dict, openapi_extra=body_doc(PropertiesAdd))
def add_step_properties(run_id: str, step: str, _: SubmitRun, svc: ServicesDep,
                        body: Annotated[PropertiesAdd, Depends(json_body(PropertiesAdd))]) -> dict:
    """Add properties to a step run (409 when one is already set to another value)."""
    return tracking.add_properties(svc, run_id, _step_id(svc, run_id, step), body.Properties)


@router.get("/runs/{run_id}/graph", response_model=dict)
def run_graph(run_id: str, _: Reader, svc: ServicesDep) -> dict:
    """The frozen graph the run executes (a script run's: one step), as ``Pipeline.graph()`` writes it."""
    return svc.store.get_pipeline(svc.store.get_run(run_id).pipeline_id).graph


@router.get("/runs/{run_id}/files", response_model=RunFileList)
def list_run_files(run_id: str, _: Reader, svc: ServicesDep) -> RunFileList:
    """Files kept with the run (``./outputs``, ``./logs`` of a script run, uploads, logged images)."""
    svc.store.get_run(run_id)
    return RunFileList(Value=tracking.run_file_names(svc, run_id))


@router.get("/runs/{run_id}/steps/{step}/files", response_model=RunFileList)
def list_step_files(run_id: str, step: str, _: Reader, svc: ServicesDep) -> RunFileList:
    """Files kept with a step run."""
    return RunFileList(Value=tracking.run_file_names(svc, _step_id(svc, run_id, step) or ""))


@router.get("/runs/{run_id}/files/{name:path}", response_class=Response)
def get_run_file(run_id: str, name: str, _: Reader, svc: ServicesDep) -> Response:
    """One run file's bytes."""
    svc.store.get_run(run_id)
    return Response(tracking.read_run_file(svc, run_id, name), media_type="application/octet-stream")


@router.get("/runs/{run_id}/steps/{step}/files/{name:path}", response_class=Response)
def get_step_file(run_id: str, step: str, name: str, _: Reader, svc: ServicesDep) -> Response:
    """One step run file's bytes."""
    owner = _step_id(svc, run_id, step) or ""
    return Response(tracking.read_run_file(svc, owner, name), media_type="application/octet-stream")


@router.put("/runs/{run_id}/files/{name:path}", response_model=RunFileList, openapi_extra=RAW_BODY_DOC)
def put_run_file(run_id: str, name: str, _: SubmitRun, svc: ServicesDep, data: RawBody) -> RunFileList:
    """Keep the body as run file ``name`` (``upload_file``), replacing one of that name."""
    svc.store.get_run(run_id)
    return RunFileList(Value=[tracking.write_run_file(svc, run_id, name, data)])


@router.put("/runs/{run_id}/steps/{step}/files/{name:path}", response_model=RunFileList, openapi_extra=RAW_BODY_DOC)
def put_step_file(run_id: str, step: str, name: str, _: SubmitRun, svc: ServicesDep, data: RawBody) -> RunFileList:
    """Keep the body as a file of a step run."""
    owner = _step_id(svc, run_id, step) or ""
    return RunFileList(Value=[tracking.write_run_file(svc, owner, name, data)])
