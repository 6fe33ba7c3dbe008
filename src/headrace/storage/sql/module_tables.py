"""Tables of modules and module versions (``ModuleStep``'s scripts); added in 0017.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, id_column, metadata

__all__ = ["module_versions", "modules"]

modules = Table(
    "modules",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("default_version", String(255)),
    Column("status", String(16), nullable=False),
    Index(None, "created_at", "id"),
)

# (module_id, version) is the primary key.
module_versions = Table(
    "module_versions",
    metadata,
    id_column("module_id", ForeignKey("modules.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(255), primary_key=True),
    Column("script_name", String(1024), nullable=False),
    Column("snapshot", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("interface", JSON, nullable=False),
    Column("source_directory", Text),
    Column("status", String(16), nullable=False),
)
