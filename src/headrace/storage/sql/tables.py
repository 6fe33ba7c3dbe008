"""SQLAlchemy Core tables of the SQL metadata store.

Column names equal the record field names in ``headrace.storage.records`` so rows map onto records
without a translation table. The schema on disk is owned by the Alembic migrations in
``migrations/versions``; these definitions must describe the same schema (a test compares them).

Datetimes use ``UTCDateTime``: values are stored as UTC and always read back timezone-aware in UTC,
on SQLite (which has no timezone type) as well as on PostgreSQL (``timestamptz``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "compute_targets",
    "connections",
    "dataset_uses",
    "datasets",
    "datastores",
    "endpoint_versions",
    "events",
    "environments",
    "experiments",
    "flow_versions",
    "flows",
    "metadata",
    "metrics",
    "model_aliases",
    "model_stage_changes",
    "models",
    "pipeline_drafts",
    "pipeline_endpoints",
    "pipeline_runs",
    "pipelines",
    "published_pipelines",
    "run_keys",
    "schedule_files",
    "schedule_fires",
    "schedule_ticks",
    "schedules",
    "step_runs",
    "tokens",
    "trigger_fires",
    "trigger_ticks",
    "triggers",
    "webhook_deliveries",
    "webhooks",
]

# Constraint names are fixed so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; a naive value given to it is taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        # SQLite stores the text form; without the offset it sorts correctly as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(name: str = "id", *args: Any, **kw: Any) -> Column[str]:
    return Column(name, String(64), *args, **kw)


experiments = Table(
    "experiments",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

pipelines = Table(
    "pipelines",
    metadata,
    _id(primary_key=True),
    Column("content_hash", String(128), nullable=False, unique=True),
    Column("graph", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

datastores = Table(
    "datastores",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("root_uri", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    _id(primary_key=True),
    _id("experiment_id", ForeignKey("experiments.id"), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    _id("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
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
    _id("published_pipeline_id"),
    _id("pipeline_endpoint_id"),
    Column("pipeline_endpoint_version", String(32)),
    _id("schedule_id"),  # added in 0003
    Column("kind", String(32), nullable=False, server_default="pipeline"),  # added in 0012
    _id("parent_run_id"),  # added in 0012
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
    _id(primary_key=True),
    _id("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False),
    # Index of the step within its run's creation (topological) order.
    Column("position", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("exit_code", Integer),
    Column("reuse_key", String(255)),
    _id("reused_from"),
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
    _id("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False),
    _id("step_run_id", ForeignKey("step_runs.id", ondelete="CASCADE")),
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
    _id(
        "run_id",
        ForeignKey("pipeline_runs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
    Index(None, "run_id"),
)

published_pipelines = Table(
    "published_pipelines",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False),
    _id("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("version", String(255)),
    Column("continue_on_step_failure", Boolean),
    _id("source_run_id"),
    Index(None, "status", "created_at"),
    Index(None, "created_at", "id"),
)

pipeline_drafts = Table(  # added in 0007
    "pipeline_drafts",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    _id("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("parameters", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    _id("parent_pipeline_id"),
    _id("parent_run_id"),
    _id("parent_draft_id"),
    _id("last_submitted_run_id"),
    Index(None, "created_at", "id"),
)

pipeline_endpoints = Table(
    "pipeline_endpoints",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("default_version", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
)

# The versions of an endpoint; (endpoint_id, version) is the primary key.
endpoint_versions = Table(
    "endpoint_versions",
    metadata,
    _id("endpoint_id", ForeignKey("pipeline_endpoints.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(32), primary_key=True),
    _id("published_pipeline_id", ForeignKey("published_pipelines.id"), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("endpoint_id", "published_pipeline_id"),
)

tokens = Table(
    "tokens",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

schedules = Table(
    "schedules",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    Column("trigger", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("anchor", UTCDateTime, nullable=False),
    _id("published_pipeline_id", ForeignKey("published_pipelines.id")),
    _id("pipeline_endpoint_id", ForeignKey("pipeline_endpoints.id")),
    Column("description", Text),
    Column("parameters", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean),
    Column("misfire", String(16), nullable=False),
    Column("misfire_cap", Integer, nullable=False),
    Column("next_fire_at", UTCDateTime),
    Column("last_fire_at", UTCDateTime),
    _id("last_run_id"),
    Column("lease_owner", String(255)),
    Column("lease_expires_at", UTCDateTime),
    Column("cursor_rev", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Index(None, "status", "next_fire_at"),  # claim_due_schedules
    Index(None, "published_pipeline_id"),
    Index(None, "pipeline_endpoint_id"),
)

# One row per run a schedule created: (schedule, fire key) is unique, which is what makes a fire
# exactly-once across crashes and competing schedulers.
schedule_fires = Table(
    "schedule_fires",
    metadata,
    _id("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("fire_key", String(512), primary_key=True),
    _id(
        "run_id",
        ForeignKey("pipeline_runs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)

# The file cursor of a datastore schedule: the version (etag, or mtime+size) of every file seen.
schedule_files = Table(
    "schedule_files",
    metadata,
    _id("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("version", String(255), nullable=False),
)

schedule_ticks = Table(
    "schedule_ticks",
    metadata,
    _id(primary_key=True),
    _id("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("slot_time", UTCDateTime),
    Column("cursor_before", Text),
    Column("cursor_after", Text),
    Column("run_ids", JSON, nullable=False),
    Index(None, "schedule_id", "evaluated_at"),
    Index(None, "evaluated_at"),
)

# LLM connections; ``secret`` holds the API key encrypted by the services layer, never the key itself.
connections = Table(
    "connections",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("secret", Text),
    Column("api_version", String(64)),
    Column("context_size", Integer),
    Column("model", String(255)),
    Column("extra", JSON, nullable=False),
)

# Published prompt flows: one row per name, one per version (versions 1, 2, ... never reused).
flows = Table(
    "flows",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("default_version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

flow_versions = Table(
    "flow_versions",
    metadata,
    Column("flow_name", String(255), ForeignKey("flows.name", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("snapshot", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("interface", JSON, nullable=False),
)

# Dataset versions: a name's versions are 1, 2, ...; unregistered ones (used by a run) have no name.
datasets = Table(
    "datasets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255)),
    Column("version", Integer),
    Column("kind", String(16), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("manifest", String(255), nullable=False),
    Column("file_count", BigInteger, nullable=False),
    Column("total_bytes", BigInteger, nullable=False),
    Column("description", Text),
    Column("tags", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by_run", String(64)),
    UniqueConstraint("name", "version"),
)

# Lineage: which run's step read (input) or produced (output) which dataset version.
dataset_uses = Table(
    "dataset_uses",
    metadata,
    Column("dataset_id", String(64), ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("step_name", String(255), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "run_id"),
)

# Named compute targets; ``config`` is the JSON settings of the target's ``type``.
compute_targets = Table(
    "compute_targets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("config", JSON, nullable=False),
    Column("description", Text),
)

# Small named values the whole workspace shares (``default_datastore``); ``value`` is JSON.
workspace_settings = Table(
    "workspace_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Registered environments: immutable versions per name; ``spec`` is ``core.environment``'s JSON, ``hash`` its
# content hash (an identical registration finds its version by it).
environments = Table(
    "environments",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Index(None, "name", "hash"),
)

# The model registry's tables are defined on the same metadata in their own module.
# The events family (outbox, webhooks, deliveries, triggers) is defined on the same metadata in its own
# module; imported here so every user of ``metadata`` sees it (import this module, not that one, first).
from headrace.storage.sql.event_tables import (  # noqa: E402
    events,
    trigger_fires,
    trigger_ticks,
    triggers,
    webhook_deliveries,
    webhooks,
)
from headrace.storage.sql.model_tables import model_aliases, model_stage_changes, models  # noqa: E402
