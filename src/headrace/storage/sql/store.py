"""``SqlMetadataStore``: the metadata store on SQLite or PostgreSQL, through SQLAlchemy Core.

One engine (connection pool) per store; every public call is one short transaction. Write
transactions take SQLite's write lock up front (see ``connection.py``), so concurrent writers
queue on ``busy_timeout`` instead of failing. The schema is migrated when the store opens.

This module holds experiments, pipelines, runs, step runs and metrics; the other families are
mixins: ``datastores.py``, ``run_keys.py``, ``published.py``, ``endpoints.py``, ``tokens.py``,
``schedules.py``, ``connections.py``, ``flows.py``, ``models.py``, ``logged_models.py``, ``modules.py`` (all on
``session.SqlSession``).

Errors: ``IntegrityError`` becomes ``AlreadyExistsError`` or ``NotFoundError`` (after looking at
what clashed), any other SQLAlchemy error ``StoreError``; no SQLAlchemy exception leaves this class.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from headrace import clock
from headrace.errors import NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import (
    ExperimentRecord,
    MetricRecord,
    PipelineRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from headrace.storage.sql import outbox, rows, runs
from headrace.storage.sql import tables as t
from headrace.storage.sql.compute import ComputeTargetMethods
from headrace.storage.sql.connections import ConnectionMethods
from headrace.storage.sql.datasets import DatasetMethods
from headrace.storage.sql.datastores import DatastoreMethods
from headrace.storage.sql.deliveries import DeliveryMethods
from headrace.storage.sql.drafts import DraftMethods
from headrace.storage.sql.endpoints import PipelineEndpointMethods
from headrace.storage.sql.environments import EnvironmentMethods
from headrace.storage.sql.events import EventMethods
from headrace.storage.sql.flows import FlowMethods
from headrace.storage.sql.logged_models import LoggedModelMethods
from headrace.storage.sql.models import ModelMethods
from headrace.storage.sql.modules import ModuleMethods
from headrace.storage.sql.published import PublishedPipelineMethods
from headrace.storage.sql.run_keys import RunKeyMethods
from headrace.storage.sql.schedules import ScheduleMethods
from headrace.storage.sql.session import translated
from headrace.storage.sql.settings import SettingMethods
from headrace.storage.sql.tokens import TokenMethods

__all__ = ["SqlMetadataStore"]

_GET_EXPERIMENT = select(t.experiments).where(t.experiments.c.name == bindparam("key"))
_GET_PIPELINE = select(t.pipelines).where(t.pipelines.c.id == bindparam("key"))
_PIPELINE_BY_HASH = select(t.pipelines).where(t.pipelines.c.content_hash == bindparam("key"))
_INSERT_EXPERIMENT = insert(t.experiments)
_INSERT_PIPELINE = insert(t.pipelines)
_INSERT_METRICS = insert(t.metrics)
_LIST_METRICS = (
    select(*rows.METRIC_COLUMNS).where(t.metrics.c.run_id == bindparam("run_id")).order_by(t.metrics.c.id)
)
_LIST_STEP_METRICS = _LIST_METRICS.where(t.metrics.c.step_run_id == bindparam("step_run_id"))


class SqlMetadataStore(
    RunKeyMethods, PublishedPipelineMethods, PipelineEndpointMethods, TokenMethods, ScheduleMethods,
    ConnectionMethods, DatastoreMethods, FlowMethods, DatasetMethods, DraftMethods, ComputeTargetMethods, SettingMethods,
    EnvironmentMethods, ModelMethods, LoggedModelMethods, ModuleMethods, EventMethods, DeliveryMethods, MetadataStore,
):
    """The metadata store in a SQL database.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path/to/headrace.db`` (the folder is created; ``sqlite://``
            is an in-memory database, whose calls are serialised on one connection) or
            ``postgresql+psycopg://user@host:port/db`` (``postgresql://`` means the same).

    Raises:
        StoreError: the database cannot be reached or migrated.

    Example:
        >>> store = SqlMetadataStore("sqlite:///.headrace/metadata.db")
        >>> store.get_or_create_experiment("demo").name
        'demo'
    """

    # -- experiments ---------------------------------------------------------------------
    @translated
    def get_or_create_experiment(self, name: str) -> ExperimentRecord:
        with contextlib.suppress(NotFoundError):
            return self.get_experiment(name)
        record = ExperimentRecord(id=str(uuid.uuid4()), name=name, created_at=clock.now())
        try:
            with self._write() as conn:
                conn.execute(_INSERT_EXPERIMENT, rows.as_row(record))
        except IntegrityError:
            return self.get_experiment(name)  # another caller created it first
        return rows.in_utc(record)

    @translated
    def get_experiment(self, name: str) -> ExperimentRecord:
        with self._read() as conn:
            row = conn.execute(_GET_EXPERIMENT, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("experiment", name)
        return rows.experiment_record(row)

    @translated
    def list_experiments(self) -> list[ExperimentRecord]:
        with self._read() as conn:
            result = conn.execute(select(t.experiments).order_by(t.experiments.c.name)).mappings()
            return [rows.experiment_record(row) for row in result]

    # -- pipelines -----------------------------------------------------------------------
    @translated
    def get_or_create_pipeline(self, content_hash: str, graph: dict[str, Any]) -> PipelineRecord:
        found = self._pipeline_by_hash(content_hash)
        if found is not None:
            return found
        record = PipelineRecord(
            id=str(uuid.uuid4()), content_hash=content_hash, graph=graph, created_at=clock.now()
        )
        try:
            with self._write() as conn:
                conn.execute(_INSERT_PIPELINE, rows.as_row(record))
        except IntegrityError:
            found = self._pipeline_by_hash(content_hash)  # another caller stored it first
            if found is None:
                raise
            return found
        return rows.in_utc(record)

    def _pipeline_by_hash(self, content_hash: str) -> PipelineRecord | None:
        with self._read() as conn:
            row = conn.execute(_PIPELINE_BY_HASH, {"key": content_hash}).mappings().first()
        return rows.pipeline_record(row) if row else None

    @translated
    def get_pipeline(self, pipeline_id: str) -> PipelineRecord:
        with self._read() as conn:
            row = conn.execute(_GET_PIPELINE, {"key": pipeline_id}).mappings().first()
        if row is None:
            raise NotFoundError("pipeline", pipeline_id)
        return rows.pipeline_record(row)

    # -- runs ----------------------------------------------------------------------------
    @translated
    def create_run(self, run: RunRecord, steps: Sequence[StepRunRecord]) -> RunRecord:
        """See ``MetadataStore.create_run``.

        Raises:
            AlreadyExistsError: the run id or a step run id is taken.
            NotFoundError: the run's experiment or pipeline does not exist.
            ValueError: a step run belongs to another run.
        """
        runs.check_steps_belong(run, steps)
        try:
            with self._write() as conn:
                runs.insert_run(conn, run, steps)
                outbox.run_event(conn, run, created=True)
        except IntegrityError as exc:
            with self._read() as conn:
                raise runs.explain_run_clash(conn, run, steps) from exc
        return rows.in_utc(run)

    @translated
    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            record = runs.get_run(conn, run_id)
        if record is None:
            raise NotFoundError("run", run_id)
        return record

    @translated
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
        """See ``MetadataStore.list_runs``.

        Raises:
            ValueError: ``limit`` below 1, or a cursor this store did not return.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        wanted = None if statuses is None else rows.status_values(statuses, RunStatus)
        with self._read() as conn:
            return runs.list_runs(
                conn,
                experiment_name=experiment_name,
                statuses=wanted,
                pipeline_id=pipeline_id,
                published_pipeline_id=published_pipeline_id,
                pipeline_endpoint_id=pipeline_endpoint_id,
                schedule_id=schedule_id,
                parent_run_id=parent_run_id,
                limit=limit,
                cursor=cursor,
                created_after=created_after,
                created_before=created_before,
                tags=tags,
            )

    @translated
    def count_runs_by_experiment(self, experiment_names: Sequence[str]) -> dict[str, int]:
        """See ``MetadataStore.count_runs_by_experiment``."""
        names = list(dict.fromkeys(experiment_names))
        if not names:
            return {}
        with self._read() as conn:
            return runs.count_runs_by_experiment(conn, names)

    @translated
    def update_run(
        self, run_id: str, *, expect: Iterable[RunStatus] | None = None, **changes: Any
    ) -> RunRecord:
        """See ``MetadataStore.update_run``.

        Raises:
            ValueError: a field name that is not an updatable ``RunRecord`` field.
        """
        values = rows.check_changes("run", changes, rows.RUN_UPDATABLE, RunStatus)
        wanted = None if expect is None else rows.status_values(expect, RunStatus)
        with self._write() as conn:
            row = runs.update_checked(
                conn,
                kind="run",
                table=t.pipeline_runs,
                key=run_id,
                expect=wanted,
                values=values,
            )
            record = rows.run_record(row)
            if "status" in values:
                outbox.run_event(conn, record)
            return record

    @translated
    def claim_run(self, agent_id: str, lease_until: datetime, run_id: str | None = None) -> RunRecord | None:
        """See ``MetadataStore.claim_run``; the winner's run also gets ``attempt + 1`` and, if unset, ``started_at``."""
        with self._write() as conn:
            record = runs.claim(
                conn, agent_id=agent_id, lease_until=lease_until, run_id=run_id, now=clock.now()
            )
            if record is not None:
                outbox.run_event(conn, record)
            return record

    @translated
    def take_over_run(self, run_id: str, *, owner: str | None, attempt: int, agent_id: str,
                      lease_until: datetime) -> RunRecord | None:
        with self._write() as conn:
            return runs.take_over(conn, run_id=run_id, owner=owner, attempt=attempt, agent_id=agent_id,
                                  lease_until=lease_until)

    @translated
    def renew_leases(self, agent_id: str, lease_until: datetime) -> int:
        with self._write() as conn:
            return runs.renew_leases(conn, agent_id=agent_id, lease_until=lease_until)

    # -- step runs -----------------------------------------------------------------------
    @translated
    def list_step_runs(self, run_id: str) -> list[StepRunRecord]:
        with self._read() as conn:
            return runs.list_step_runs(conn, run_id)

    @translated
    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        with self._read() as conn:
            record = runs.get_step_run(conn, step_run_id)
        if record is None:
            raise NotFoundError("step run", step_run_id)
        return record

    @translated
    def update_step_run(
        self, step_run_id: str, *, expect: Iterable[StepStatus] | None = None, **changes: Any
    ) -> StepRunRecord:
        """See ``MetadataStore.update_step_run``.

        Raises:
            ValueError: a field name that is not an updatable ``StepRunRecord`` field.
        """
        values = rows.check_changes("step run", changes, rows.STEP_UPDATABLE, StepStatus)
        wanted = None if expect is None else rows.status_values(expect, StepStatus)
        with self._write() as conn:
            row = runs.update_checked(
                conn,
                kind="step run",
                table=t.step_runs,
                key=step_run_id,
                expect=wanted,
                values=values,
            )
            record = rows.step_record(row)
            if values.get("status") == StepStatus.FAILED.value:
                outbox.step_failed(conn, record, runs.get_run(conn, record.run_id))
            return record

    @translated
    def update_step_runs(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[StepRunRecord]:
        """See ``MetadataStore.update_step_runs``: one transaction."""
        checked = [(key, rows.check_changes("step run", values, rows.STEP_UPDATABLE, StepStatus))
                   for key, values in changes]
        if not checked:
            return []
        with self._write() as conn:
            records = runs.update_step_runs(conn, checked)
            for (_, values), record in zip(checked, records, strict=True):
                if values.get("status") == StepStatus.FAILED.value:
                    outbox.step_failed(conn, record, runs.get_run(conn, record.run_id))
            return records

    @translated
    def find_reusable_step_run(self, reuse_key: str) -> StepRunRecord | None:
        with self._read() as conn:
            return runs.find_reusable(conn, reuse_key)

    # -- metrics -------------------------------------------------------------------------
    @translated
    def add_metrics(self, metrics: Sequence[MetricRecord]) -> None:
        """See ``MetadataStore.add_metrics``.

        Raises:
            NotFoundError: a metric names a run or step run that does not exist.
        """
        if not metrics:
            return
        try:
            with self._write() as conn:
                conn.execute(_INSERT_METRICS, [rows.as_row(m) for m in metrics])
        except IntegrityError as exc:
            with self._read() as conn:
                raise runs.explain_missing_owner(conn, metrics) from exc

    @translated
    def next_metric_seqs(self, run_id: str, step_run_id: str | None, names: Sequence[str]) -> dict[str, int]:
        """See ``MetadataStore.next_metric_seqs``: one grouped query."""
        with self._read() as conn:
            return runs.next_metric_seqs(conn, run_id, step_run_id, names)

    @translated
    def list_metrics(self, run_id: str, step_run_id: str | None = None) -> list[MetricRecord]:
        if step_run_id is None:
            stmt, params = _LIST_METRICS, {"run_id": run_id}
        else:
            stmt, params = _LIST_STEP_METRICS, {"run_id": run_id, "step_run_id": step_run_id}
        with self._read() as conn:
            return [rows.metric_record(row) for row in conn.execute(stmt, params).mappings()]
