"""The metadata store on SQLite or PostgreSQL (SQLAlchemy Core + Alembic migrations shipped here)."""

from headrace.storage.sql.store import SqlMetadataStore

__all__ = ["SqlMetadataStore"]
