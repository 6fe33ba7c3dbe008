"""What every part of the SQL store shares: the engine, short transactions, error translation.

``SqlSession`` opens (and migrates) the database; ``SqlMetadataStore`` combines it with one
mixin per family of methods (``published.py``, ``endpoints.py``, ``tokens.py``, ``run_keys.py``).
Every public method is wrapped in ``translated`` so no SQLAlchemy exception leaves the store.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from headrace.errors import StoreError, StoreFullError
from headrace.storage.sql import schema
from headrace.storage.sql.connection import create_store_engine, is_memory_sqlite, normalize_url, write_engine

__all__ = ["SqlSession", "retry_version_race", "store_error", "translated"]

P = ParamSpec("P")
T = TypeVar("T")


_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_PG_DISK_FULL = "53100"  # disk_full: "could not extend file ...: No space left on device"


def translated(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn any SQLAlchemy error leaving ``fn`` into a ``StoreError`` (``from`` the original)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise store_error(fn.__name__, exc) from exc
        except OSError as exc:  # the SQLite lock file, on a full disk
            if not _disk_full(exc):
                raise
            raise store_error(fn.__name__, exc) from exc

    return wrapper


def store_error(what: str, exc: BaseException) -> StoreError:
    """The ``StoreError`` for a failed call: a ``StoreFullError`` when the database's disk is full."""
    detail = exc.orig if isinstance(exc, DBAPIError) else exc
    if _disk_full(detail):
        return StoreFullError(f"metadata store: {what} failed: the disk holding the database is full "
                              f"({detail}); nothing was written: free space, then try again")
    return StoreError(f"metadata store: {what} failed: {detail}".strip())


def _disk_full(err: object) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == _SQLITE_FULL:
        return True
    return getattr(err, "sqlstate", None) == _PG_DISK_FULL or "database or disk is full" in str(err)


# Racing registrations of one name retry on the unique (name, version): every one of N racers wins within N tries.
_VERSION_ATTEMPTS = 16


def retry_version_race(insert_next: Callable[[], T]) -> T:
    """Run ``insert_next`` (one write transaction that numbers the next version of a name and inserts it) again
    while a racing registration of the same name takes that number first; the last ``IntegrityError`` is raised."""
    for attempt in range(_VERSION_ATTEMPTS):
        try:
            return insert_next()
        except IntegrityError:
            if attempt == _VERSION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


class _SqliteWriteLock:
    """Exclusive across this process's threads (RLock) and across processes (flock on a side file).

    Re-entrant within a thread; the file lock is taken once, by the outermost holder.
    """

    def __init__(self, path: str):
        self._path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        if self._depth == 0:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class SqlSession:
    """An open, migrated SQL database: one engine (connection pool) and its transactions.

    Args:
        url: a SQLAlchemy URL (see ``SqlMetadataStore``).

    Raises:
        StoreError: the database cannot be reached or migrated.
    """

    def __init__(self, url: str):
        try:
            parsed = normalize_url(url)
        except SQLAlchemyError as exc:
            raise StoreError(f"invalid metadata store URL: {exc}") from exc
        self.url = parsed.render_as_string(hide_password=True)
        try:
            self._engine = create_store_engine(parsed)
        except ImportError as exc:
            raise StoreError(
                f"no driver for {self.url}: {exc}; for PostgreSQL install headrace[postgres]"
            ) from exc
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open the metadata store at {self.url}: {exc}") from exc
        # Close pooled connections when the store is dropped unclosed (or at exit), quietly.
        weakref.finalize(self, self._engine.dispose)
        try:
            schema.upgrade(self._engine)
        except Exception as exc:
            self._engine.dispose()
            if isinstance(exc, SQLAlchemyError):
                raise StoreError(f"cannot open the metadata store at {self.url}: {exc}") from exc
            raise
        self._writer = write_engine(self._engine)
        # An in-memory SQLite database lives on one shared connection: one call at a time.
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if is_memory_sqlite(parsed) else contextlib.nullcontext()
        )
        # SQLite has one writer at a time. Writers queue on a lock (threads) and a kernel file
        # lock (processes) instead of SQLite's busy handler, which sleeps in growing steps even
        # after the lock is free: that cost a third of the REST submit throughput.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            _SqliteWriteLock(f"{parsed.database}.writelock")
            if parsed.get_backend_name() == "sqlite" and not is_memory_sqlite(parsed)
            else contextlib.nullcontext()
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._serial, self._engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._serial, self._write_lock, self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()
        if isinstance(self._write_lock, _SqliteWriteLock):
            self._write_lock.close()
