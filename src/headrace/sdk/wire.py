"""Wire models (``headrace.schemas``, PascalCase) back to the store records the SDK classes read.

The reverse of ``server/convert.py``: a remote workspace hands the SDK the same records an embedded
one does, so ``PipelineRun``, ``StepRun``, ``PublishedPipeline``... never know where they came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headrace.core.recurrence import ScheduleRecurrence
from headrace.sdk.paging import RUN_PAGE  # noqa: F401  (the remote backend reads wire.RUN_PAGE)
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.records import (
    ComputeTargetRecord,
    DatastoreRecord,
    EndpointVersion,
    EntityStatus,
    ExperimentRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunKind,
    RunRecord,
    RunStatus,
    ScheduleKind,
    ScheduleRecord,
    ScheduleTickRecord,
    StepRunRecord,
    StepStatus,
    TickOutcome,
)

if TYPE_CHECKING:  # annotations only: an embedded workspace never loads the wire models (~25 ms)
    from headrace.schemas import (
        DataPathValue,
        ExperimentRead,
        PipelineEndpointRead,
        PublishedPipelineRead,
        RunRead,
        ScheduleRead,
        ScheduleTickRead,
        StepRunRead,
    )
    from headrace.schemas.compute import ComputeRead
    from headrace.schemas.datastores import DatastoreRead
    from headrace.schemas.drafts import PipelineDraftRead


def _datapath(value: DataPathValue) -> dict[str, str]:
    return {"datastore": value.DataStoreName, "path": value.RelativePath}


def run_record(run: RunRead) -> RunRecord:
    parameters: dict[str, Any] = dict(run.ParameterAssignments)
    parameters.update({k: _datapath(v) for k, v in run.DataPathAssignments.items()})
    return RunRecord(
        id=run.Id, experiment_id=run.ExperimentId, experiment_name=run.ExperimentName, pipeline_id=run.GraphId,
        status=RunStatus(run.Status), created_at=run.CreatedTime, parameters=parameters, tags=dict(run.Tags),
        description=run.Description, run_source=run.RunSource, continue_on_step_failure=run.ContinueRunOnStepFailure,
        regenerate_outputs=run.RegenerateOutputs, started_at=run.StartTime, ended_at=run.EndTime, error=run.Error,
        cancel_requested=run.CancelRequested, attempt=run.Attempt, properties=dict(run.Properties),
        published_pipeline_id=run.PipelineId, pipeline_endpoint_id=run.PipelineEndpointId,
        pipeline_endpoint_version=run.PipelineEndpointVersion, schedule_id=run.ScheduleId,
        kind=RunKind(run.Kind), parent_run_id=run.ParentRunId,
    )


def step_record(step: StepRunRead) -> StepRunRecord:
    return StepRunRecord(
        id=step.Id, run_id=step.RunId, name=step.Name, status=StepStatus(step.Status), created_at=step.CreatedTime,
        started_at=step.StartTime, ended_at=step.EndTime, exit_code=step.ExitCode, reuse_key=step.ReuseKey,
        reused_from=step.ReusedRunId, outputs={k: _datapath(v) for k, v in step.Outputs.items()}, error=step.Error,
        tags=dict(step.Tags), properties=dict(step.Properties),
    )


def published_record(p: PublishedPipelineRead) -> PublishedPipelineRecord:
    return PublishedPipelineRecord(
        id=p.Id, name=p.Name, pipeline_id=p.GraphId, status=EntityStatus(p.Status), created_at=p.CreatedTime,
        updated_at=p.UpdatedTime, description=p.Description, version=p.Version,
        continue_on_step_failure=p.ContinueRunOnStepFailure, source_run_id=p.SourceRunId,
    )


def endpoint_record(ep: PipelineEndpointRead) -> PipelineEndpointRecord:
    versions = tuple(EndpointVersion(v.Version, v.PipelineId, v.AddedTime) for v in ep.Versions)
    return PipelineEndpointRecord(
        id=ep.Id, name=ep.Name, status=EntityStatus(ep.Status), default_version=ep.DefaultVersion,
        versions=versions, created_at=ep.CreatedTime, updated_at=ep.UpdatedTime, description=ep.Description,
    )


def experiment_record(e: ExperimentRead) -> ExperimentRecord:
    return ExperimentRecord(id=e.Id, name=e.Name, created_at=e.CreatedTime)


def compute_record(c: ComputeRead) -> ComputeTargetRecord:
    return ComputeTargetRecord(name=c.Name, type=c.Type, created_at=c.CreatedTime, updated_at=c.CreatedTime,
                               config=dict(c.Properties), description=c.Description)


def datastore_record(d: DatastoreRead) -> DatastoreRecord:
    options = {"storage": dict(d.Options)} if d.Options else {}  # what may be shown; secrets stay on the server
    return DatastoreRecord(name=d.Name, kind=d.Kind, root_uri=d.RootUri, options=options, created_at=d.CreatedTime)


def _schedule_trigger(s: ScheduleRead, kind: ScheduleKind) -> dict[str, Any]:
    """The stored form of the trigger: ``ScheduleRecurrence.to_dict()`` or the datastore watch's dict."""
    if kind is ScheduleKind.RECURRENCE:
        wire = s.Recurrence.model_dump(exclude_none=True) if s.Recurrence is not None else {}
        return ScheduleRecurrence.from_wire(wire).to_dict()
    t = s.DataStoreTriggerInfo
    assert t is not None, "a DataStore schedule carries its DataStoreTriggerInfo"
    return {"datastore": t.DataStoreName, "path": t.PathOnDataStore or "", "polling_interval": t.PollingInterval,
            "data_path_parameter_name": t.DataPathParameterName, "recursive": bool(t.Recursive),
            "batch": bool(t.Batch)}


def schedule_record(s: ScheduleRead) -> ScheduleRecord:
    kind = ScheduleKind(s.ScheduleType)
    sub = s.PipelineSubmissionInfo
    parameters: dict[str, Any] = dict(sub.ParameterAssignments or {})
    parameters.update({k: _datapath(v) for k, v in (sub.DataPathAssignments or {}).items()})
    return ScheduleRecord(
        id=s.Id, name=s.Name, kind=kind, status=EntityStatus(s.EntityStatus), experiment_name=sub.ExperimentName or "",
        trigger=_schedule_trigger(s, kind), created_at=s.CreatedDate, updated_at=s.LastModifiedDate,
        anchor=s.CreatedDate, published_pipeline_id=s.PipelineId, pipeline_endpoint_id=s.PipelineEndpointId,
        description=s.Description, parameters=parameters, continue_on_step_failure=sub.ContinueRunOnStepFailure,
        misfire=s.Misfire, misfire_cap=s.MisfireCap, next_fire_at=s.NextRunTime, last_fire_at=s.LastFireTime,
        last_run_id=s.LastRunId,
    )


def tick_record(t: ScheduleTickRead) -> ScheduleTickRecord:
    return ScheduleTickRecord(
        id=t.Id, schedule_id=t.ScheduleId, evaluated_at=t.EvaluatedAt, outcome=TickOutcome(t.Outcome),
        reason=t.Reason, slot_time=t.SlotTime, cursor_before=t.CursorBefore, cursor_after=t.CursorAfter,
        run_ids=list(t.RunIds),
    )


def split_assignments(values: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Submitted parameter values as (``ParameterAssignments``, ``DataPathAssignments``).

    A ``DataPath`` (anything with ``datastore_name`` and ``path_on_datastore``) goes to the data path
    assignments; everything else is sent as given (the server converts strings and checks types, as
    an embedded workspace does).
    """
    scalars: dict[str, Any] = {}
    paths: dict[str, dict[str, str]] = {}
    for name, value in (values or {}).items():
        if hasattr(value, "datastore_name") and hasattr(value, "path_on_datastore"):
            paths[name] = {"DataStoreName": value.datastore_name, "RelativePath": value.path_on_datastore}
        else:
            scalars[name] = value
    return scalars, paths


def draft_record(d: PipelineDraftRead) -> PipelineDraftRecord:
    parameters: dict[str, Any] = dict(d.ParameterAssignments)
    parameters.update({k: _datapath(v) for k, v in d.DataPathAssignments.items()})
    return PipelineDraftRecord(
        id=d.Id, name=d.Name, experiment_name=d.ExperimentName, pipeline_id=d.GraphId, created_at=d.CreatedTime,
        updated_at=d.UpdatedTime, description=d.Description, parameters=parameters,
        continue_on_step_failure=d.ContinueRunOnStepFailure, tags=dict(d.Tags), properties=dict(d.Properties),
        parent_pipeline_id=d.ParentPipelineId, parent_run_id=d.ParentRunId, parent_draft_id=d.ParentDraftId,
        last_submitted_run_id=d.LastSubmittedRunId,
    )
