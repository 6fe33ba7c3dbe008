"""The metadata store interface: experiments, pipelines, datastores, runs, step runs, metrics.

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

from headrace.storage.records import (
    ConnectionRecord,
    DatastoreRecord,
    ExperimentRecord,
    MetricRecord,
    PipelineEndpointRecord,
    PipelineRecord,
    PublishedFlowRecord,
    PublishedPipelineRecord,
    RunRecord,
    RunStatus,
    ScheduleRecord,
    ScheduleTickRecord,
    StepRunRecord,
    StepStatus,
    TokenRecord,
)


class MetadataStore(ABC):
    """Where every run, step run and metric is recorded before and while it executes."""

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
        limit: int = 100,
        cursor: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """Runs newest first, filtered; returns (page, cursor of the next page or None).

        ``created_after`` / ``created_before`` bound ``created_at`` (inclusive).
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

    # -- published pipelines -------------------------------------------------------------
    @abstractmethod
    def create_published_pipeline(self, record: PublishedPipelineRecord) -> PublishedPipelineRecord:
        """Raises: AlreadyExistsError (duplicate id), NotFoundError (unknown pipeline_id)."""

    @abstractmethod
    def get_published_pipeline(self, published_id: str) -> PublishedPipelineRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_published_pipelines(self, *, active_only: bool = True) -> list[PublishedPipelineRecord]:
        """Newest first."""

    @abstractmethod
    def update_published_pipeline(self, published_id: str, **changes: Any) -> PublishedPipelineRecord:
        """Apply changes (field names of the record; ``updated_at`` is set by the caller)."""

    # -- pipeline endpoints --------------------------------------------------------------
    @abstractmethod
    def create_pipeline_endpoint(
        self, record: PipelineEndpointRecord
    ) -> PipelineEndpointRecord:
        """Store an endpoint with its versions.

        Raises:
            AlreadyExistsError: the name is taken (archived endpoints free their name).
        """

    @abstractmethod
    def get_pipeline_endpoint(
        self, endpoint_id: str | None = None, *, name: str | None = None
    ) -> PipelineEndpointRecord:
        """By id, else by name. Raises: NotFoundError."""

    @abstractmethod
    def list_pipeline_endpoints(self, *, active_only: bool = True) -> list[PipelineEndpointRecord]:
        """By name."""

    @abstractmethod
    def update_pipeline_endpoint(self, endpoint_id: str, **changes: Any) -> PipelineEndpointRecord:
        """Change ``name``, ``description``, ``status``, ``default_version`` or ``updated_at``.

        Raises:
            NotFoundError: unknown endpoint, or ``default_version`` not among its versions.
            AlreadyExistsError: a new ``name`` is taken.
        """

    @abstractmethod
    def add_endpoint_version(
        self, endpoint_id: str, published_pipeline_id: str, *, make_default: bool, added_at: datetime
    ) -> PipelineEndpointRecord:
        """Append version ``max + 1`` (atomic; numbers are never reused).

        Raises:
            AlreadyExistsError: the published pipeline is already a version of this endpoint.
        """

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

    # -- schedules -----------------------------------------------------------------------
    @abstractmethod
    def create_schedule(self, record: ScheduleRecord, files: Mapping[str, str] | None = None) -> ScheduleRecord:
        """Store a schedule, with the initial file cursor of a datastore schedule (path -> version).

        Raises:
            NotFoundError: its published pipeline or endpoint does not exist.
        """

    @abstractmethod
    def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_schedules(
        self,
        *,
        active_only: bool = False,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[ScheduleRecord]:
        """Newest first, filtered."""

    @abstractmethod
    def update_schedule(self, schedule_id: str, *, owner: str | None = None, **changes: Any) -> ScheduleRecord:
        """Apply changes (field names of the record); with ``owner``, only while it holds the lease.

        Raises:
            NotFoundError: no such schedule.
            ConflictError: ``owner`` given and it no longer holds the lease.
        """

    @abstractmethod
    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule with its fires, file cursor and ticks (its runs stay). Raises: NotFoundError."""

    @abstractmethod
    def claim_due_schedules(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int = 100
    ) -> list[ScheduleRecord]:
        """Lease up to ``limit`` Active schedules whose ``next_fire_at`` is at or before ``now`` and
        whose lease is free or expired, earliest first. No two callers get the same schedule."""

    @abstractmethod
    def next_schedule_due(self) -> datetime | None:
        """The earliest instant some Active schedule can be claimed: its ``next_fire_at``, or its lease
        expiry when later (None: nothing scheduled)."""

    @abstractmethod
    def create_scheduled_run(
        self, run: RunRecord, steps: Sequence[StepRunRecord], *, fire_key: str
    ) -> tuple[RunRecord, bool]:
        """Create the run of one fire of ``run.schedule_id``, unless that fire already made one.

        Returns (run, True) when created, else (the run made first under ``fire_key``, False).
        """

    @abstractmethod
    def save_schedule_state(
        self,
        schedule_id: str,
        *,
        owner: str | None,
        changes: Mapping[str, Any],
        ticks: Sequence[ScheduleTickRecord] = (),
        files: tuple[Mapping[str, str], Iterable[str]] | None = None,
    ) -> ScheduleRecord:
        """In one transaction, while ``owner`` holds the lease (any time when ``owner`` is None): apply
        ``changes``, record ``ticks``, and apply ``files`` = (path -> version to upsert, paths to forget)
        to the cursor (bumping ``cursor_rev``).

        Raises:
            ConflictError: ``owner`` no longer holds the lease (nothing is written).
        """

    @abstractmethod
    def get_schedule_files(self, schedule_id: str) -> dict[str, str]:
        """The file cursor of a datastore schedule: path -> version."""

    @abstractmethod
    def add_schedule_ticks(self, ticks: Sequence[ScheduleTickRecord]) -> None:
        """Record evaluations made outside a state save (e.g. a failed one)."""

    @abstractmethod
    def list_schedule_ticks(self, schedule_id: str, *, limit: int = 100) -> list[ScheduleTickRecord]:
        """Newest first."""

    @abstractmethod
    def prune_schedule_history(self, before: datetime) -> int:
        """Forget ticks and fire keys older than ``before``; returns how many rows went."""

    # -- LLM connections ---------------------------------------------------------------
    @abstractmethod
    def create_connection(self, record: ConnectionRecord) -> ConnectionRecord:
        """Raises: AlreadyExistsError when the name is taken."""

    @abstractmethod
    def get_connection(self, name: str) -> ConnectionRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_connections(self) -> list[ConnectionRecord]:
        """All connections, by name."""

    @abstractmethod
    def update_connection(self, name: str, /, **changes: Any) -> ConnectionRecord:
        """Apply changes (field names of the record but ``name`` and ``created_at``).

        Raises:
            NotFoundError: no such connection.
            ValueError: a field that cannot change.
        """

    @abstractmethod
    def delete_connection(self, name: str) -> None:
        """Raises: NotFoundError."""

    # -- published prompt flows --------------------------------------------------------
    @abstractmethod
    def add_flow_version(self, name: str, *, snapshot: str, created_at: datetime, version: int | None = None,
                         description: str | None = None, interface: dict[str, Any] | None = None,
                         make_default: bool = True) -> PublishedFlowRecord:
        """Add a version to the flow ``name``, creating the flow (Active) with its first version.

        ``version`` None takes the next number (max + 1, from 1); concurrent additions get distinct
        numbers. The first version is always the default; later ones when ``make_default``.

        Raises:
            AlreadyExistsError: ``version`` is already a version of the flow.
            ValueError: ``version`` is not a whole number of at least 1.
        """

    @abstractmethod
    def get_flow(self, name: str) -> PublishedFlowRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_flows(self, *, active_only: bool = False) -> list[PublishedFlowRecord]:
        """Published flows by name (only Active ones with ``active_only``)."""

    @abstractmethod
    def update_flow(self, name: str, /, **changes: Any) -> PublishedFlowRecord:
        """Apply changes to ``status``, ``default_version`` or ``updated_at``.

        Raises:
            NotFoundError: no such flow, or ``default_version`` is not one of its versions.
            ValueError: another field, or an unknown status.
        """

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
