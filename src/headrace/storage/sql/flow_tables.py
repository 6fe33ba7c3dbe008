"""Tables of published prompt flows and their versions.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, metadata

__all__ = ["flow_versions", "flows"]

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
