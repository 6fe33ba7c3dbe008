"""Tables of pipelines: graph snapshots, published pipelines, drafts, endpoints and their versions.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from headrace.storage.sql.columns import UTCDateTime, id_column, metadata

__all__ = ["endpoint_versions", "pipeline_drafts", "pipeline_endpoints", "pipelines", "published_pipelines"]

pipelines = Table(
    "pipelines",
    metadata,
    id_column(primary_key=True),
    Column("content_hash", String(128), nullable=False, unique=True),
    Column("graph", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

published_pipelines = Table(
    "published_pipelines",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False),
    id_column("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("version", String(255)),
    Column("continue_on_step_failure", Boolean),
    id_column("source_run_id"),
    Index(None, "status", "created_at"),
    Index(None, "created_at", "id"),
)

pipeline_drafts = Table(  # added in 0007
    "pipeline_drafts",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    id_column("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("parameters", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    id_column("parent_pipeline_id"),
    id_column("parent_run_id"),
    id_column("parent_draft_id"),
    id_column("last_submitted_run_id"),
    Index(None, "created_at", "id"),
)

pipeline_endpoints = Table(
    "pipeline_endpoints",
    metadata,
    id_column(primary_key=True),
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
    id_column("endpoint_id", ForeignKey("pipeline_endpoints.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(32), primary_key=True),
    id_column("published_pipeline_id", ForeignKey("published_pipelines.id"), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("endpoint_id", "published_pipeline_id"),
)
