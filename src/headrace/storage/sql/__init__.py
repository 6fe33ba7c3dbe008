"""The metadata store on SQLite or PostgreSQL (SQLAlchemy Core + Alembic migrations shipped here).

``SqlMetadataStore`` is imported on first use, so ``sqlite_runs`` (the CLI's fast listing) loads without
SQLAlchemy.
"""

from typing import Any

__all__ = ["SqlMetadataStore"]


def __getattr__(name: str) -> Any:
    if name == "SqlMetadataStore":
        from headrace.storage.sql.store import SqlMetadataStore

        return SqlMetadataStore
    raise AttributeError(name)
