"""Tables of schedules: the schedules, their fires (exactly-once keys), file cursors and ticks.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, id_column, metadata

__all__ = ["schedule_files", "schedule_fires", "schedule_ticks", "schedules"]

schedules = Table(
    "schedules",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    Column("trigger", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("anchor", UTCDateTime, nullable=False),
    id_column("published_pipeline_id", ForeignKey("published_pipelines.id")),
    id_column("pipeline_endpoint_id", ForeignKey("pipeline_endpoints.id")),
    Column("description", Text),
    Column("parameters", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean),
    Column("misfire", String(16), nullable=False),
    Column("misfire_cap", Integer, nullable=False),
    Column("next_fire_at", UTCDateTime),
    Column("last_fire_at", UTCDateTime),
    id_column("last_run_id"),
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
    id_column("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("fire_key", String(512), primary_key=True),
    id_column(
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
    id_column("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("version", String(255), nullable=False),
)

schedule_ticks = Table(
    "schedule_ticks",
    metadata,
    id_column(primary_key=True),
    id_column("schedule_id", ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
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
