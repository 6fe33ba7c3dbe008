"""Tables of dataset versions and their lineage (which run's step read or produced which).

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from headrace.storage.sql.columns import UTCDateTime, metadata

__all__ = ["dataset_uses", "datasets"]

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
