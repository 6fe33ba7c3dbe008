"""What every part of the SQL store shares: the engine, short transactions, error translation.

``SqlSession`` opens (and migrates) the database; ``SqlMetadataStore`` combines it with one
mixin per family of methods (``published.py``, ``endpoints.py``, ``tokens.py``, ``run_keys.py``).
Every public method is wrapped in ``translated`` so no SQLAlchemy exception leaves the store.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from headrace.errors import StoreError
from headrace.storage.sql import schema
from headrace.storage.sql.connection import create_store_engine, is_memory_sqlite, normalize_url, write_engine

__all__ = ["SqlSession", "translated"]

P = ParamSpec("P")
T = TypeVar("T")


def translated(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn any SQLAlchemy error leaving ``fn`` into a ``StoreError`` (``from`` the original)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, DBAPIError) else exc
            raise StoreError(f"metadata store: {fn.__name__} failed: {detail}".strip()) from exc

    return wrapper


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._serial, self._engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._serial, self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()
