"""Tables of workspace resources: datastores, tokens, LLM connections, compute targets, settings
and environments.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, id_column, metadata

__all__ = ["compute_targets", "connections", "datastores", "environments", "tokens", "workspace_settings"]

datastores = Table(
    "datastores",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("root_uri", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    id_column(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
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
