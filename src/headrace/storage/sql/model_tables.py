"""Tables of the model registry (versions, stage history, aliases) and of MLflow's logged models.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from headrace.storage.sql.columns import UTCDateTime, metadata

__all__ = ["logged_models", "model_aliases", "model_stage_changes", "models"]

# One row per version; ``id`` is ``name:version``. ``files`` lists the version's content-addressed blobs.
models = Table(
    "models",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("root", Text, nullable=False),
    Column("files", JSON, nullable=False),
    Column("file_count", BigInteger, nullable=False),
    Column("total_bytes", BigInteger, nullable=False),
    Column("description", Text),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("framework", String(64)),
    Column("framework_version", String(64)),
    Column("datasets", JSON, nullable=False),
    Column("run_id", String(64)),
    Column("step_name", String(255)),
    Column("experiment_name", String(255)),
    Column("source", Text),
    Column("created_by", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("stage_changed_at", UTCDateTime),
    UniqueConstraint("name", "version"),
    Index(None, "run_id"),
)

# The audit trail of stage transitions (rows of a deleted version go with it).
model_stage_changes = Table(
    "model_stage_changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_stage", String(16), nullable=False),
    Column("to_stage", String(16), nullable=False),
    Column("changed_by", String(300)),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("comment", Text),
    Index(None, "name", "version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("set_by", String(300)),
    Column("set_at", UTCDateTime, nullable=False),
)

# MLflow 3's logged models (``LoggedModelRecord``); their files are in the artifact store.
logged_models = Table(
    "logged_models",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("experiment_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("source_run_id", String(64)),
    Column("model_type", String(255)),
    Column("status", String(16), nullable=False),
    Column("status_message", Text),
    Column("tags", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "experiment_id", "created_at"),
    Index(None, "source_run_id"),
)
