"""Conversions between store records and the wire models of ``headrace.schemas`` (PascalCase)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.datastores.base import FileInfo
from headrace.errors import HeadraceError
from headrace.schemas import (
    DataPathValue,
    EndpointVersionRead,
    ExperimentRead,
    ParameterRead,
    PipelineEndpointRead,
    PublishedPipelineRead,
    RunRead,
    StepRunRead,
    SubmitRequest,
    SubmitResponse,
)
from headrace.schemas.datastores import DatastoreRead, FileRead
from headrace.schemas.drafts import PipelineDraftRead
from headrace.server.errors import BadRequestError
from headrace.services import datasets
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.records import (
    DatastoreRecord,
    ExperimentRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    StepRunRecord,
)


def _datapath(value: Mapping[str, Any]) -> DataPathValue:
    return DataPathValue(DataStoreName=str(value.get("datastore", "")), RelativePath=str(value.get("path", "")))


def split_parameters(parameters: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, DataPathValue]]:
    """A run's resolved parameters as (scalar ParameterAssignments, DataPathAssignments)."""
    scalars = {k: v for k, v in parameters.items() if not isinstance(v, Mapping)}
    paths = {k: _datapath(v) for k, v in parameters.items() if isinstance(v, Mapping) and "manifest" not in v}
    return scalars, paths


def submit_options(body: SubmitRequest) -> dict[str, Any]:
    """The keyword arguments of the services' submit functions for an Azure ML v1 body.

    ``DataPathAssignments`` join ``ParameterAssignments`` in one parameter dict (the services convert
    both to the declared types).

    Raises:
        BadRequestError: a name assigned twice, or a dataset assignment of another shape than Azure ML's.
    """
    parameters = parameter_values(body.ParameterAssignments, body.DataPathAssignments)
    for name, value in (body.DataSetDefinitionValueAssignments or {}).items():
        if name in parameters:
            raise BadRequestError(f"parameter {name!r} is assigned twice (DataSetDefinitionValueAssignments and "
                                  "ParameterAssignments or DataPathAssignments)", target=name)
        try:
            parameters[name] = datasets.reference(value)
        except HeadraceError as exc:
            raise BadRequestError(f"DataSetDefinitionValueAssignments[{name!r}]: {exc}", target=name) from None
    return {
        "pipeline_parameters": parameters,
        "continue_on_step_failure": body.ContinueRunOnStepFailure,
        "tags": body.Tags, "description": body.Description, "run_source": body.RunSource or "API",
    }


def parameter_values(
    assignments: Mapping[str, Any] | None, data_paths: Mapping[str, DataPathValue] | None
) -> dict[str, Any]:
    """One parameter dict for the services from ``ParameterAssignments`` and ``DataPathAssignments``.

    Raises:
        BadRequestError: a name assigned in both.
    """
    parameters: dict[str, Any] = dict(assignments or {})
    for name, path in (data_paths or {}).items():
        if name in parameters:
            raise BadRequestError(f"parameter {name!r} is in both ParameterAssignments and DataPathAssignments",
                                  target=name)
        parameters[name] = path.model_dump()
    return parameters


def submit_response(run: RunRecord, created: bool) -> SubmitResponse:
    scalars, paths = split_parameters(run.parameters)
    return SubmitResponse(
        Id=run.id, Status=run.status.value, PipelineId=run.published_pipeline_id,
        PipelineEndpointId=run.pipeline_endpoint_id, PipelineEndpointVersion=run.pipeline_endpoint_version,
        ExperimentName=run.experiment_name, RunSource=run.run_source, ParameterAssignments=scalars,
        DataPathAssignments=paths, Created=created,
    )


def step_read(step: StepRunRecord) -> StepRunRead:
    return StepRunRead(
        Id=step.id, RunId=step.run_id, Name=step.name, Status=step.status.value, CreatedTime=step.created_at,
        StartTime=step.started_at, EndTime=step.ended_at, ExitCode=step.exit_code, IsReused=step.is_reused,
        ReusedRunId=step.reused_from, ReuseKey=step.reuse_key,
        Outputs={k: _datapath(v) for k, v in step.outputs.items()}, Error=step.error, Tags=step.tags,
        Properties=step.properties,
    )


def run_read(run: RunRecord, steps: list[StepRunRecord] | None = None) -> RunRead:
    scalars, paths = split_parameters(run.parameters)
    return RunRead(
        Id=run.id, Status=run.status.value, ExperimentName=run.experiment_name, ExperimentId=run.experiment_id,
        GraphId=run.pipeline_id, PipelineId=run.published_pipeline_id, PipelineEndpointId=run.pipeline_endpoint_id,
        PipelineEndpointVersion=run.pipeline_endpoint_version, ScheduleId=run.schedule_id, RunSource=run.run_source,
        Description=run.description, Tags=run.tags, ParameterAssignments=scalars, DataPathAssignments=paths,
        ContinueRunOnStepFailure=run.continue_on_step_failure, RegenerateOutputs=run.regenerate_outputs,
        CreatedTime=run.created_at, StartTime=run.started_at, EndTime=run.ended_at, Error=run.error,
        CancelRequested=run.cancel_requested, Attempt=run.attempt, Properties=run.properties,
        Kind=run.kind.value, ParentRunId=run.parent_run_id, Steps=None if steps is None else [step_read(s) for s in steps],
    )


def _parameter(name: str, spec: Mapping[str, Any]) -> ParameterRead:
    default = spec.get("default")
    if spec.get("type") == "datapath" and isinstance(default, Mapping):
        default = _datapath(default).model_dump()
    return ParameterRead(Name=name, Type=str(spec.get("type")), DefaultValue=default)


def published_read(record: PublishedPipelineRecord, graph: dict[str, Any], base_url: str,
                   with_graph: bool = False) -> PublishedPipelineRead:
    return PublishedPipelineRead(
        Id=record.id, Name=record.name, Description=record.description, Version=record.version,
        Status=record.status.value, Endpoint=f"{base_url}/api/v1/pipelines/{record.id}/submit",
        GraphId=record.pipeline_id, ContinueRunOnStepFailure=record.continue_on_step_failure,
        SourceRunId=record.source_run_id,
        Parameters=[_parameter(n, s) for n, s in graph.get("parameters", {}).items()],
        StepNames=[s["name"] for s in graph.get("steps", [])], CreatedTime=record.created_at,
        UpdatedTime=record.updated_at, Graph=graph if with_graph else None,
    )


def endpoint_url(base_url: str, endpoint_id: str) -> str:
    """A pipeline endpoint's URL in Azure ML's shape (``.../PipelineEndpointSubmit/Id/{id}``): code that
    appends ``/{version}`` or swaps ``Id...`` for ``Name?name=...`` reaches the routes of ``routers/submit``."""
    return f"{base_url}/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"


def endpoint_read(record: PipelineEndpointRecord, base_url: str) -> PipelineEndpointRead:
    return PipelineEndpointRead(
        Id=record.id, Name=record.name, Description=record.description, Status=record.status.value,
        DefaultVersion=record.default_version, Endpoint=endpoint_url(base_url, record.id),
        Versions=[EndpointVersionRead(Version=v.version, PipelineId=v.published_pipeline_id, AddedTime=v.added_at)
                  for v in record.versions],
        CreatedTime=record.created_at, UpdatedTime=record.updated_at,
    )


def experiment_read(record: ExperimentRecord) -> ExperimentRead:
    return ExperimentRead(Id=record.id, Name=record.name, CreatedTime=record.created_at)


def datastore_read(record: DatastoreRecord, default: str | None = None) -> DatastoreRead:
    from headrace.services.cloud_datastores import public_options

    return DatastoreRead(Name=record.name, Kind=record.kind, RootUri=record.root_uri, CreatedTime=record.created_at,
                         Options=public_options(record), IsDefault=record.name == default)


def file_read(info: FileInfo) -> FileRead:
    return FileRead(Path=info.path, Size=info.size, Modified=info.modified, Etag=info.etag)


def draft_read(record: PipelineDraftRecord) -> PipelineDraftRead:
    scalars, paths = split_parameters(record.parameters)
    return PipelineDraftRead(
        Id=record.id, Name=record.name, ExperimentName=record.experiment_name, GraphId=record.pipeline_id,
        Description=record.description, ParameterAssignments=scalars, DataPathAssignments=paths,
        ContinueRunOnStepFailure=record.continue_on_step_failure, Tags=record.tags, Properties=record.properties,
        ParentPipelineId=record.parent_pipeline_id, ParentRunId=record.parent_run_id,
        ParentDraftId=record.parent_draft_id, LastSubmittedRunId=record.last_submitted_run_id,
        CreatedTime=record.created_at, UpdatedTime=record.updated_at,
    )
