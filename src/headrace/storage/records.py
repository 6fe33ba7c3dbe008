"""Immutable records the metadata store reads and writes, and the status enums.

Records are plain frozen dataclasses: the store builds them from rows and callers
never mutate them; updates go through the store's ``update_*`` methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any


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
class DatastoreRecord:
    """A registered datastore: a name bound to an fsspec root URI."""

    name: str
    kind: str  # "local", "s3", "azure_blob", ...
    root_uri: str
    options: dict[str, Any]
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


class EntityStatus(StrEnum):
    """Status of a published pipeline or a pipeline endpoint."""

    ACTIVE = "Active"
    DISABLED = "Disabled"


@dataclass(frozen=True)
class PublishedPipelineRecord:
    """A published pipeline: a frozen graph (``pipeline_id``) under an id, a name and a version.

    ``continue_on_step_failure`` None means "not set at publish time" (runs default to False).
    """

    id: str
    name: str
    pipeline_id: str
    status: EntityStatus
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    version: str | None = None
    continue_on_step_failure: bool | None = None
    source_run_id: str | None = None


@dataclass(frozen=True)
class EndpointVersion:
    """One version of a pipeline endpoint: "0", "1", ... (never reused)."""

    version: str
    published_pipeline_id: str
    added_at: datetime


@dataclass(frozen=True)
class PipelineEndpointRecord:
    """A versioned pipeline endpoint: one stable id/name across republishing."""

    id: str
    name: str
    status: EntityStatus
    default_version: str
    versions: tuple[EndpointVersion, ...]
    created_at: datetime
    updated_at: datetime
    description: str | None = None

    def version(self, version: str | None = None) -> EndpointVersion | None:
        """The entry for ``version`` (default version when None), or None."""
        wanted = self.default_version if version is None else str(version)
        return next((v for v in self.versions if v.version == wanted), None)


class Role(str, Enum):
    """What a token may do: read < submit < admin."""

    READER = "reader"
    SUBMITTER = "submitter"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"reader": 0, "submitter": 1, "admin": 2}[self.value]


@dataclass(frozen=True)
class TokenRecord:
    """An API token. Only the sha256 of the secret is kept."""

    id: str
    name: str
    role: Role
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ScheduleKind(str, Enum):
    """What fires a schedule: the calendar or a datastore change (Azure v1's ScheduleType)."""

    RECURRENCE = "Recurrence"
    DATASTORE = "DataStore"


class TickOutcome(str, Enum):
    """The result of one evaluation of a schedule."""

    FIRED = "fired"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule: what to run (a published pipeline or an endpoint's default version), when, and its state.

    ``trigger`` is ``ScheduleRecurrence.to_dict()`` for a recurrence, or ``{"datastore", "path",
    "polling_interval", "data_path_parameter_name", "recursive", "batch"}`` for a datastore watch.
    ``parameters`` are the pipeline parameters as given (``@`` expressions unevaluated; data paths
    as ``{"datastore", "path"}``). ``next_fire_at`` is the next slot (recurrence) or poll (datastore);
    None once an end time has passed. ``anchor`` is what a recurrence without start time counts from.
    ``lease_owner``/``lease_expires_at`` say which scheduler process is evaluating it.
    ``cursor_rev`` changes whenever the saved file cursor of a datastore schedule changes.
    """

    id: str
    name: str
    kind: ScheduleKind
    status: EntityStatus
    experiment_name: str
    trigger: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    anchor: datetime
    published_pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None
    misfire: str = "latest"
    misfire_cap: int = 10
    next_fire_at: datetime | None = None
    last_fire_at: datetime | None = None
    last_run_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    cursor_rev: int = 0
    failures: int = 0


@dataclass(frozen=True)
class ScheduleTickRecord:
    """One evaluation of a schedule: what it decided, why, and which runs it created.

    ``cursor_before``/``cursor_after`` describe the schedule's position (next slot, or file
    cursor revision and size) around the evaluation.
    """

    id: str
    schedule_id: str
    evaluated_at: datetime
    outcome: TickOutcome
    reason: str = ""
    slot_time: datetime | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    run_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectionRecord:
    """A stored LLM connection (see ``headrace.flows.connections.Connection``).

    ``secret`` is the API key *encrypted* by ``headrace.services.connections`` (a Fernet token); the store
    never sees the key itself. None when the connection has no key.
    """

    name: str
    type: str
    base_url: str
    created_at: datetime
    updated_at: datetime
    secret: str | None = field(default=None, repr=False)
    api_version: str | None = None
    context_size: int | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowVersion:
    """One published version of a prompt flow: 1, 2, ... (never reused).

    Attributes:
        snapshot: the content hash of the flow folder's snapshot (``datastores.snapshots``).
        interface: the flow's inputs and outputs as published (``{"inputs": {...}, "outputs": {...}}``),
            so callers learn what to send without loading the flow.
    """

    version: int
    snapshot: str
    created_at: datetime
    description: str | None = None
    interface: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedFlowRecord:
    """A prompt flow published to the server: one name over numbered versions, one of them the default."""

    name: str
    status: EntityStatus
    default_version: int
    versions: tuple[FlowVersion, ...]
    created_at: datetime
    updated_at: datetime

    def version(self, version: int | None = None) -> FlowVersion | None:
        """The entry for ``version`` (the default version when None), or None."""
        wanted = self.default_version if version is None else version
        return next((v for v in self.versions if v.version == wanted), None)


@dataclass(frozen=True)
class ComputeTargetRecord:
    """A named compute target: where the steps that name it run.

    ``type`` picks the implementation ("local", "AmlCompute": this machine's agent; later kinds plug
    in behind the same names); ``config`` is its JSON settings (for both: ``max_nodes``, the most
    steps of a run that execute on it at once).
    """

    name: str
    type: str
    created_at: datetime
    updated_at: datetime
    config: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class EnvironmentRecord:
    """One registered version of a named environment (``headrace.core.environment`` describes ``spec``).

    ``hash`` is the spec's content hash: registering an identical spec under the same name returns this
    version instead of making a new one.
    """

    name: str
    version: int
    hash: str
    spec: dict[str, Any]
    created_at: datetime
    description: str | None = None
