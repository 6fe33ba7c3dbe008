"""Bring a database's schema to the newest migration, safely when several processes open it at once.

The migrations live in ``migrations/`` inside the package and run through Alembic with a
``Config`` built here (no ini file). Opening an up-to-date database costs one query and does not
import Alembic. A new, empty database gets the tables as they are now (``metadata.create_all``) and is
stamped at head, Alembic's recipe for new databases: replaying every migration on each new home cost
over a second of CPU (a test checks that the migrations give the same tables). Otherwise the upgrade
runs in a single transaction that first takes a lock:
``pg_advisory_xact_lock`` on PostgreSQL, the write lock (``BEGIN IMMEDIATE``) on SQLite. Both
backends have transactional DDL, so a second process waits, then finds the schema at head and
does nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from headrace.errors import StoreError
from headrace.storage.sql.connection import write_engine

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "VERSION_TABLE", "current_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "headrace_alembic_version"
HEAD_REVISION = "0017"
"""The newest revision in ``migrations/versions``; a test checks it against Alembic's head."""

# Arbitrary constant ("headrace" in ASCII) naming the PostgreSQL advisory lock.
_PG_LOCK_KEY = 0x6865616472616365

# Alembic installs its ``context``/``op`` proxies as module globals while it runs, so two threads
# of one process must never migrate at the same time; the database lock covers other processes.
_process_lock = threading.Lock()


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None for a database headrace never migrated."""
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except DBAPIError:
        return None  # no version table yet


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks (a no-op when it is at head).

    Raises:
        StoreError: the database is at a revision this version of headrace does not know.
        sqlalchemy.exc.SQLAlchemyError: the caller translates it.
    """
    found = current_revision(engine)
    if found == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    with _process_lock, write_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = conn
        config.attributes["version_table"] = VERSION_TABLE
        try:
            if found is None and _is_empty(conn):
                from headrace.storage.sql.tables import metadata

                metadata.create_all(conn)
                command.stamp(config, "head")
                return
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(
                f"cannot migrate the metadata database (at revision {found!r}, this headrace knows up to"
                f" {HEAD_REVISION!r}): {exc}; was it created by a newer headrace? Upgrade headrace."
            ) from exc


def _is_empty(conn: Connection) -> bool:
    """No headrace table and no version table: a database headrace never touched (under the lock, so a
    process that lost the race sees the winner's tables)."""
    from headrace.storage.sql.tables import metadata

    names = set(inspect(conn).get_table_names())
    return VERSION_TABLE not in names and not names & set(metadata.tables)
