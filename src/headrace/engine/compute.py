"""The compute-target interface: what a step needs to run anywhere, and what comes back.

A ``StepTask`` is self-contained and serialisable: the snapshot is named by its hash (fetched
from the artifact datastore), data by datastore name + relative path, logs by an artifact
path. Nothing in it assumes the orchestrator's filesystem, so a remote worker can run it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headrace.engine.step_env import (  # noqa: F401 - re-exported: the step's side of the interface
    CAPTURED_FOLDERS,
    CHILD_FILES_DIR,
    CHILDREN_FILE,
    ENV_CONTEXT_DIR,
    ENV_DASK_RESOURCES,
    ENV_DASK_WORKER,
    ENV_ENVIRONMENT_SPEC,
    ENV_EXPERIMENT,
    ENV_PARENT_RUN_ID,
    ENV_REMOTE_NODE,
    ENV_RUN_ID,
    ENV_RUN_KIND,
    ENV_STEP_NAME,
    ENV_STEP_RUN_ID,
    FILES_DIR,
    LOG_FILES,
    LOGGED_MODELS_DIR,
    LOGGED_MODELS_FILE,
    METRICS_FILE,
    MLFLOW_PARAMS_PROPERTY,
    MLFLOW_STEP_SCHEME,
    MODEL_REQUESTS,
    MODELS_FILE,
    PARAMS_FILE,
    PROPERTIES_FILE,
    STATUS_FILE,
    TAGS_FILE,
)
from headrace.storage.records import StepStatus


@dataclass(frozen=True)
class DataBinding:
    """Where one data object of a step lives."""

    datastore: str
    path: str
    mode: str = "mount"  # "mount": read in place when the store is local; "download": copy first
    # A dataset input: its pinned version (id, name, version, kind, definition, manifest); ``mode`` is then
    # Azure ML's "mount", "download" or "direct" (the step gets a dataset object).
    dataset: dict[str, Any] | None = None
    # ``PipelineData(is_directory=False)``: the data is one file of this name in the folder ``path``; the script
    # is given the file's path (to write, then to read), as Azure ML gives it.
    file: str | None = None


@dataclass(frozen=True)
class StepTask:
    """Everything needed to execute one step run.

    ``arguments`` items are strings, or ``{"data": name}`` placeholders replaced by the local
    path of input/output ``name`` on the compute.
    """

    run_id: str
    step_run_id: str
    step_name: str
    experiment_name: str
    snapshot_hash: str
    script_name: str
    arguments: list[Any]
    inputs: dict[str, DataBinding]
    outputs: dict[str, DataBinding]
    env: dict[str, str]
    log_path: str  # folder in the artifact datastore for stdout.txt / stderr.txt / execution.log
    timeout_seconds: float | None = None
    files_path: str = ""  # folder in the artifact datastore for the run files (``./outputs``, uploads); "" keeps none
    # The step's environment record (``{"name", "version", "hash", "spec"}``, ``core.environment``), or None
    # for the agent's interpreter; a target materialises it with ``engine.environments.ensure``.
    environment: dict[str, Any] | None = None
    # The Dask resources the step asks for (``core.resources``; the graph step's ``resources``), {} for none.
    resources: dict[str, float] = field(default_factory=dict)
    # A command step's argv (items as in ``arguments``); then ``script_name`` is "" and ``arguments`` empty, and
    # the target runs the command in the snapshot folder (``python`` as its first item: the step's interpreter).
    command: list[Any] | None = None
    # A data transfer step's ``transfer`` record (``core.graph``): the target copies input ``source`` to output
    # ``destination`` itself, with no process and no snapshot.
    transfer: dict[str, Any] | None = None


@dataclass(frozen=True)
class UpcomingStep:
    """A step run that may start when the running step ends: what is known before its inputs are.

    Given to ``ComputeTarget.run`` so a target can stage it (fetch its snapshot, make its folders)
    while the running step's process works, instead of after.
    """

    run_id: str
    step_run_id: str
    snapshot_hash: str
    log_path: str
    outputs: dict[str, DataBinding]


@dataclass
class StepOutcome:
    """What running a step produced."""

    status: StepStatus
    started_at: datetime
    ended_at: datetime
    exit_code: int | None = None
    error: str | None = None
    stderr_tail: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    parent_tags: dict[str, str] = field(default_factory=dict)  # tagged on the pipeline run
    properties: dict[str, Any] = field(default_factory=dict)
    parent_properties: dict[str, Any] = field(default_factory=dict)
    output_bytes: dict[str, int] = field(default_factory=dict)
    model_requests: list[dict[str, Any]] = field(default_factory=list)  # run.register_model() lines of the script
    children: list[dict[str, Any]] = field(default_factory=list)  # run.child_run() runs (``run_files.read_children``)
    logged_models: list[dict[str, Any]] = field(default_factory=list)  # MLflow models (``engine.logged_models.fold``)


class ComputeTarget(ABC):
    """Runs step tasks. ``run`` blocks until the step ends; ``cancel`` may be called from
    another thread and makes the matching ``run`` return promptly with status Canceled."""

    name: str
    remote: bool = False
    """True when steps run elsewhere (a cluster): they do not count against the agent's parallel-step limit."""
    places_by_resources: bool = False
    """True when a step's resources decide where it runs (Dask); else they are recorded with a warning."""

    @abstractmethod
    def run(self, task: StepTask, execution_log: list[str], upcoming: Sequence[UpcomingStep] = ()) -> StepOutcome:
        """Execute ``task``; append human-readable lines to ``execution_log`` as it goes.

        ``upcoming`` are step runs that wait only for this one (and steps already running): a
        target may prepare them while ``task`` runs, or ignore them. They may never run.

        Never raises for a failing step: failures come back as an outcome with status Failed.
        """

    @abstractmethod
    def cancel(self, step_run_id: str) -> None:
        """Stop the step run if it is running here; no error if it is not."""

    def logged_so_far(self, step_run_id: str) -> list[dict[str, Any]]:
        """The metric lines a running step has logged so far, in logging order (optional: a target that cannot
        tell returns none, and the step's values arrive when it ends). The final ``StepOutcome.metrics`` must
        start with these lines."""
        return []

    def resources_for(self, task: StepTask) -> dict[str, float]:
        """The resources ``task`` holds here (recorded on the step run): the step's own, unless the target places
        steps by resources (``places_by_resources``) and merges its own (Dask)."""
        return dict(task.resources)

    def children_so_far(self, step_run_id: str) -> list[dict[str, Any]]:
        """The child runs a running step's script started so far (``run_files.read_children``), so they show
        while it runs (optional, as ``logged_so_far``: else they are recorded when the step ends)."""
        return []

    def serve_models(self, step_run_id: str, store: Any) -> int:
        """Answer the model requests of a running step's script from ``store`` (``step_models``); returns how
        many. Optional: a target that cannot serve them leaves the script to say so."""
        return 0

    def cleanup(self, run_id: str) -> None:  # noqa: B027 - optional hook
        """Release what the run's steps left on this target (work folders); called once the run ended."""


def mlflow_env(task: StepTask, context_dir: str) -> dict[str, str]:
    """What makes ``mlflow.log_metric`` and ``mlflow.autolog()`` in a step land on the step's run.

    A variable the step sets itself (its ``environment_variables``) wins: a step that logs to its
    own MLflow server keeps doing so.
    """
    script_run = task.env.get(ENV_RUN_KIND) == "script"  # the step is the script run, in the script
    env = {
        "MLFLOW_TRACKING_URI": f"{MLFLOW_STEP_SCHEME}://{context_dir}",
        "MLFLOW_RUN_ID": task.run_id if script_run else task.step_run_id,
    }
    return {k: v for k, v in env.items() if k not in task.env}
