"""Alembic environment for the SQL metadata store.

Only the programmatic path is supported: ``headrace.storage.sql.schema.upgrade`` passes an open
connection (already inside the transaction that holds the migration lock) in
``config.attributes["connection"]``. There is no ini file and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context

from headrace.storage.sql.tables import metadata

VERSION_TABLE = context.config.attributes["version_table"]

if context.is_offline_mode():  # pragma: no cover - not offered
    raise RuntimeError("headrace migrations run online only (headrace.storage.sql.schema.upgrade)")

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
)
with context.begin_transaction():
    context.run_migrations()
