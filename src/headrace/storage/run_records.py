"""Records of runs: experiments, pipeline snapshots, pipeline runs, step runs and metrics, with the run
and step status enums.

Records are plain frozen dataclasses (see ``headrace.storage.records``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["ExperimentRecord", "MetricRecord", "PipelineRecord", "RunKind", "RunRecord", "RunStatus", "StepRunRecord", "StepStatus", "TERMINAL_RUN_STATUSES", "WARNINGS_PROPERTY"]


class RunStatus(StrEnum):
    """Status of a pipeline run (the names are Azure ML's, as users' code compares them).

    A ``StrEnum``: ``str()`` and ``format()`` give the value ("Finished"), as Azure ML's plain strings print.
    """

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELED = "Canceled"
    COMPLETED = "Completed"  # how a script, interactive or sweep run ends well (Azure ML's word for them)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES

    @property
    def succeeded(self) -> bool:
        """Finished (a pipeline run) or Completed (any other kind of run)."""
        return self in (RunStatus.FINISHED, RunStatus.COMPLETED)


WARNINGS_PROPERTY = "headrace.warnings"
"""Run property holding the warnings recorded when the run was queued (one per line)."""

TERMINAL_RUN_STATUSES = frozenset({RunStatus.FINISHED, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})


class RunKind(StrEnum):
    """What a run executes. A script run is a one-step graph executed by the agent like a pipeline; an
    interactive run is written by the process that started it (``Experiment.start_logging``); a sweep
    (HyperDrive) run is a parent of script runs."""

    PIPELINE = "pipeline"
    SCRIPT = "script"
    INTERACTIVE = "interactive"
    SWEEP = "hyperdrive"

    @property
    def agent_runs_it(self) -> bool:
        """Whether an agent claims and executes runs of this kind (the others have another owner)."""
        return self in (RunKind.PIPELINE, RunKind.SCRIPT)


class StepStatus(StrEnum):
    """Status of a step run."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (StepStatus.FINISHED, StepStatus.FAILED, StepStatus.CANCELED)


@dataclass(frozen=True)
class ExperimentRecord:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class PipelineRecord:
    """A frozen pipeline graph (see ``headrace.core.graph`` for the format), deduplicated by hash."""

    id: str
    content_hash: str
    graph: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RunRecord:
    """A pipeline run.

    ``parameters`` holds the resolved value of every pipeline parameter (scalars as JSON
    values, data paths as ``{"datastore": name, "path": rel}``).
    """

    id: str
    experiment_id: str
    experiment_name: str
    pipeline_id: str
    status: RunStatus
    created_at: datetime
    parameters: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    run_source: str = "SDK"
    continue_on_step_failure: bool = False
    regenerate_outputs: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    cancel_requested: bool = False
    agent_id: str | None = None
    lease_expires_at: datetime | None = None
    attempt: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    published_pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    pipeline_endpoint_version: str | None = None
    schedule_id: str | None = None  # the schedule whose fire created the run
    kind: RunKind = RunKind.PIPELINE
    parent_run_id: str | None = None  # a child run's parent (``run.child_run()``, a sweep's trials)


@dataclass(frozen=True)
class StepRunRecord:
    """One step of a pipeline run.

    ``outputs`` maps an output name to ``{"datastore": name, "path": rel}`` where its data
    lives (for a reused step: the original producer's location).
    ``log_uri`` is the folder (fsspec URI) holding ``stdout.txt``, ``stderr.txt`` and ``execution.log``.
    """

    id: str
    run_id: str
    name: str
    status: StepStatus
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exit_code: int | None = None
    reuse_key: str | None = None
    reused_from: str | None = None  # id of the step run whose results were reused
    log_uri: str | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    error: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def is_reused(self) -> bool:
        return self.reused_from is not None


@dataclass(frozen=True)
class MetricRecord:
    """One logged value. ``step_run_id`` is None for values logged on the pipeline run itself.

    ``kind`` is "scalar" for ``run.log`` and "row" for ``run.log_row`` (value is then a dict).
    ``seq`` orders values of one name within one (step) run. ``step`` is the training step an MLflow
    client gave with the value (None for values logged without one).
    """

    run_id: str
    step_run_id: str | None
    name: str
    value: Any
    kind: str
    seq: int
    logged_at: datetime
    step: int | None = None
