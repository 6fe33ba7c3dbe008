"""Engines for the SQL store: SQLite tuned for many small writes, PostgreSQL through psycopg 3.

SQLite notes. The ``sqlite3`` driver's own transaction handling is switched off and SQLAlchemy
emits ``BEGIN`` itself (the recipe in SQLAlchemy's SQLite docs), so that:

* write transactions start with ``BEGIN IMMEDIATE`` and take the write lock up front; a deferred
  transaction that reads and then writes can fail at once with "database is locked" when another
  connection committed in between, whatever the busy timeout;
* DDL is transactional, so a whole migration commits or rolls back as one;
* reads emit no BEGIN at all: each statement is its own snapshot (the store's reads are single
  statements), which saves a round of the driver per call.

Use ``write_engine()`` for anything that writes; plain reads use the engine itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

__all__ = ["BUSY_TIMEOUT_MS", "create_store_engine", "is_memory_sqlite", "normalize_url", "write_engine"]

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer's lock before failing."""

_WRITE_OPTION = "headrace_write"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; a bare ``postgresql://`` gets the psycopg 3 driver, the one headrace ships."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: str | URL) -> Engine:
    """One pooled engine for a store: pragmas and BEGIN handling on SQLite, pre-ping on PostgreSQL.

    Raises:
        OSError: the folder of a SQLite file cannot be created.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    kwargs: dict[str, Any] = {}
    if is_memory_sqlite(parsed):
        # One shared connection, or every pooled connection would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif parsed.database and not parsed.database.startswith("file:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def write_engine(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions take SQLite's write lock at BEGIN."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's begin hook emits BEGIN instead
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching a new file to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    if conn.get_execution_options().get(_WRITE_OPTION, False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
