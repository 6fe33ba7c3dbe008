"""The metadata store interface: experiments, pipelines, datastores, runs, step runs, metrics, tokens.

Every implementation passes ``tests/storage/conformance.py``. Conventions: ``get_*`` raises
``NotFoundError``; ``list_*`` returns records newest first; ``update_*`` with ``expect`` only
applies when the current status is one of ``expect`` and raises ``ConflictError`` otherwise,
which is how concurrent agents and cancels never overwrite each other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from headrace.storage.base_compute import ComputeStore
from headrace.storage.base_datasets import DatasetStore
from headrace.storage.base_drafts import DraftStore
from headrace.storage.base_environments import EnvironmentStore
from headrace.storage.base_events import EventStore
from headrace.storage.base_flows import FlowStore
from headrace.storage.base_models import LoggedModelStore, ModelStore
from headrace.storage.base_modules import ModuleStore
from headrace.storage.base_publishing import PublishingStore
from headrace.storage.base_schedules import ScheduleStore
from headrace.storage.records import (
    DatastoreRecord,
    ExperimentRecord,
    MetricRecord,
    PipelineRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
    TokenRecord,
)


class MetadataStore(PublishingStore, ScheduleStore, FlowStore, DatasetStore, DraftStore, ComputeStore,
                    EnvironmentStore, ModelStore, LoggedModelStore, ModuleStore, EventStore, ABC):
    """Where every run, step run and metric is recorded before and while it executes.

    The methods of published pipelines and endpoints, schedules, prompt flows, datasets, pipeline drafts,
    compute targets, environments, models, MLflow logged models, modules and events are declared in ``PublishingStore``,
    ``ScheduleStore``, ``FlowStore``, ``DatasetStore``, ``DraftStore``, ``ComputeStore``, ``EnvironmentStore``,
    ``ModelStore``, ``LoggedModelStore``, ``ModuleStore`` and ``EventStore``
    (``base_*.py`` beside this module).
    """

    # -- experiments ---------------------------------------------------------------------
    @abstractmethod
    def get_or_create_experiment(self, name: str) -> ExperimentRecord:
        """Return the experiment called ``name``, creating it if needed (safe under races)."""

    @abstractmethod
    def get_experiment(self, name: str) -> ExperimentRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_experiments(self) -> list[ExperimentRecord]:
        """All experiments, by name."""

    # -- pipelines -----------------------------------------------------------------------
    @abstractmethod
    def get_or_create_pipeline(self, content_hash: str, graph: dict[str, Any]) -> PipelineRecord:
        """Return the pipeline with this content hash, storing ``graph`` if it is new."""

    @abstractmethod
    def get_pipeline(self, pipeline_id: str) -> PipelineRecord:
        """Raises: NotFoundError."""

    # -- datastores ----------------------------------------------------------------------
    @abstractmethod
    def create_datastore(self, record: DatastoreRecord) -> DatastoreRecord:
        """Raises: AlreadyExistsError when the name is taken."""

    @abstractmethod
    def get_datastore(self, name: str) -> DatastoreRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_datastores(self) -> list[DatastoreRecord]:
        """All registered datastores, by name."""

    @abstractmethod
    def replace_datastore(self, record: DatastoreRecord) -> DatastoreRecord:
        """Overwrite the registration of ``record.name`` (kind, root and options).

        Raises: NotFoundError."""

    @abstractmethod
    def delete_datastore(self, name: str) -> None:
        """Remove a registration (its files stay where they are).

        Raises: NotFoundError."""

    # -- workspace settings --------------------------------------------------------------
    @abstractmethod
    def get_setting(self, key: str) -> Any:
        """The JSON value stored under ``key``, or None when it was never set."""

    @abstractmethod
    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key``, replacing any earlier one."""

    # -- runs ----------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, run: RunRecord, steps: Sequence[StepRunRecord]) -> RunRecord:
        """Insert a run and all its step runs in one transaction (all or nothing)."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_runs(
        self,
        *,
        experiment_name: str | None = None,
        statuses: Iterable[RunStatus] | None = None,
        pipeline_id: str | None = None,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        schedule_id: str | None = None,
        parent_run_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """Runs newest first, filtered; returns (page, cursor of the next page or None).

        ``created_after`` / ``created_before`` bound ``created_at`` (inclusive); ``tags`` keeps the
        runs holding every one of those tags with exactly that value; ``parent_run_id`` keeps the children of
        that run.
        """

    @abstractmethod
    def count_runs_by_experiment(self, experiment_names: Sequence[str]) -> dict[str, int]:
        """How many runs each named experiment has (one grouped query; absent names count 0)."""

    @abstractmethod
    def update_run(
        self, run_id: str, *, expect: Iterable[RunStatus] | None = None, **changes: Any
    ) -> RunRecord:
        """Apply ``changes`` (RunRecord field names) and return the new record.

        Raises:
            NotFoundError: no such run.
            ConflictError: ``expect`` given and the run's status is not in it.
        """

    @abstractmethod
    def claim_run(self, agent_id: str, lease_until: datetime, run_id: str | None = None) -> RunRecord | None:
        """Atomically move one Queued run (``run_id``, or the oldest) to Running for ``agent_id``.

        Exactly one caller wins a given run; the others get None.
        """

    @abstractmethod
    def take_over_run(self, run_id: str, *, owner: str | None, attempt: int, agent_id: str,
                      lease_until: datetime) -> RunRecord | None:
        """Make ``agent_id`` the owner of a Running run whose agent is gone (orphan recovery).

        A compare-and-set: it applies only while the run is Running, still owned by ``owner``
        (None included) and on the same ``attempt`` as when the caller saw it, so of several
        agents recovering the same run exactly one wins, and a stale view never takes a run
        another agent has claimed since. Returns the new record, or None when it does not apply.

        Raises:
            NotFoundError: no such run.
        """

    @abstractmethod
    def renew_leases(self, agent_id: str, lease_until: datetime) -> int:
        """Extend the lease of every Running run owned by ``agent_id``; returns how many."""

    # -- step runs -----------------------------------------------------------------------
    @abstractmethod
    def list_step_runs(self, run_id: str) -> list[StepRunRecord]:
        """The step runs of a run, in creation (topological) order."""

    @abstractmethod
    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def update_step_run(
        self, step_run_id: str, *, expect: Iterable[StepStatus] | None = None, **changes: Any
    ) -> StepRunRecord:
        """Like ``update_run`` for a step run."""

    def update_step_runs(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[StepRunRecord]:
        """Apply ``update_step_run(step_run_id, **values)`` for each pair, in order.

        The engine writes each scheduling pass this way. A store should do it in one transaction
        (all or nothing); this default applies the changes one by one. Returns the new records in
        the same order. Raises as ``update_step_run``.
        """
        return [self.update_step_run(step_run_id, **values) for step_run_id, values in changes]

    @abstractmethod
    def find_reusable_step_run(self, reuse_key: str) -> StepRunRecord | None:
        """The newest Finished step run with this reuse key, or None."""

    # -- metrics -------------------------------------------------------------------------
    @abstractmethod
    def add_metrics(self, metrics: Sequence[MetricRecord]) -> None:
        """Append logged values."""

    @abstractmethod
    def list_metrics(self, run_id: str, step_run_id: str | None = None) -> list[MetricRecord]:
        """Values of a pipeline run (all its steps, or one step run), in logging order."""

    def next_metric_seqs(self, run_id: str, step_run_id: str | None, names: Sequence[str]) -> dict[str, int]:
        """The ``seq`` the next value of each of ``names`` gets on the run itself (``step_run_id`` None) or on
        that step run: one more than the highest so far, 0 for a name never logged there.

        What a caller appending values one call at a time needs without reading them all back; this default
        reads them, a store should answer with one aggregate query.
        """
        wanted = set(names)
        out = dict.fromkeys(wanted, 0)
        for m in self.list_metrics(run_id, step_run_id):
            if m.step_run_id == step_run_id and m.name in wanted:
                out[m.name] = max(out[m.name], m.seq + 1)
        return out

    @abstractmethod
    def create_run_once(
        self, run: RunRecord, steps: Sequence[StepRunRecord], *, key: str, not_before: datetime
    ) -> tuple[RunRecord, bool]:
        """Create a run unless one was already created under ``key`` at or after ``not_before``.

        Returns (the run, True) when created, or (the run created first under ``key``, False).
        Two racing callers with the same key get the same run; a key older than ``not_before``
        is replaced. This is what makes ``Idempotency-Key`` (and later schedule fires) exactly-once.
        """

    @abstractmethod
    def prune_run_keys(self, before: datetime) -> int:
        """Forget run keys created before ``before``; returns how many."""

    # -- tokens --------------------------------------------------------------------------
    @abstractmethod
    def create_token(self, record: TokenRecord) -> TokenRecord:
        """Raises: AlreadyExistsError (duplicate id or hash)."""

    @abstractmethod
    def get_token_by_hash(self, token_hash: str) -> TokenRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_tokens(self) -> list[TokenRecord]:
        """Oldest first, revoked included."""

    @abstractmethod
    def update_token(self, token_id: str, **changes: Any) -> TokenRecord:
        """Change ``revoked_at``, ``last_used_at`` or ``name``. Raises: NotFoundError."""

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
