"""Tables of runs: experiments, pipeline runs, their step runs, metrics and idempotency keys.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, id_column, metadata

__all__ = ["experiments", "metrics", "pipeline_runs", "run_keys", "step_runs"]

experiments = Table(
    "experiments",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    id_column(primary_key=True),
    id_column("experiment_id", ForeignKey("experiments.id"), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    id_column("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("description", Text),
    Column("run_source", String(64), nullable=False),
    Column("continue_on_step_failure", Boolean, nullable=False),
    Column("regenerate_outputs", Boolean, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("error", Text),
    Column("cancel_requested", Boolean, nullable=False),
    Column("agent_id", String(255)),
    Column("lease_expires_at", UTCDateTime),
    Column("attempt", Integer, nullable=False),
    Column("properties", JSON, nullable=False),
    # Added in 0002. Plain columns, no foreign keys: SQLite could only add those by copying the table.
    id_column("published_pipeline_id"),
    id_column("pipeline_endpoint_id"),
    Column("pipeline_endpoint_version", String(32)),
    id_column("schedule_id"),  # added in 0003
    Column("kind", String(32), nullable=False, server_default="pipeline"),  # added in 0012
    id_column("parent_run_id"),  # added in 0012
    Index(None, "status", "created_at", "id"),  # claim_run: oldest Queued first
    Index(None, "created_at", "id"),
    Index(None, "experiment_name", "created_at"),
    Index(None, "pipeline_id", "created_at"),
    Index(None, "agent_id", "status"),
    Index(None, "published_pipeline_id", "created_at"),
    Index(None, "pipeline_endpoint_id", "created_at"),
    Index(None, "schedule_id", "created_at"),
    Index(None, "parent_run_id", "created_at"),
)

step_runs = Table(
    "step_runs",
    metadata,
    id_column(primary_key=True),
    id_column("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False),
    # Index of the step within its run's creation (topological) order.
    Column("position", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("exit_code", Integer),
    Column("reuse_key", String(255)),
    id_column("reused_from"),
    Column("log_uri", Text),
    Column("outputs", JSON, nullable=False),
    Column("error", Text),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    Index(None, "run_id", "position"),
    Index(None, "reuse_key", "status", "created_at"),
)

metrics = Table(
    "metrics",
    metadata,
    # Insertion order is logging order; SQLite needs plain INTEGER for an autoincrementing rowid.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    id_column("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False),
    id_column("step_run_id", ForeignKey("step_runs.id", ondelete="CASCADE")),
    Column("name", String(255), nullable=False),
    Column("value", JSON),
    Column("kind", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("logged_at", UTCDateTime, nullable=False),
    Column("step", BigInteger),  # added in 0013: an MLflow client's step
    Index(None, "run_id", "id"),
)

# Idempotency keys of ``create_run_once``. The foreign key is checked at commit, so the key row can
# be inserted first: that insert is what serialises racing callers.
run_keys = Table(
    "run_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    id_column(
        "run_id",
        ForeignKey("pipeline_runs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
    Index(None, "run_id"),
)
