"""What differs between fsspec backends: listing key spellings and exception types.

s3fs lists ``Size``/``LastModified``/``ETag``, adlfs ``size``/``last_modified``/``etag``, the local
filesystem ``size``/``mtime`` and the memory one ``size``/``created``; etags arrive quoted.
s3fs and adlfs also let botocore or azure exceptions through besides ``OSError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from headrace.datastores.base import FileInfo
from headrace.datastores.paths import error_at
from headrace.errors import HeadraceError

_MTIME_KEYS = ("mtime", "last_modified", "LastModified", "modified", "created")


def where(rel: str | None) -> str:
    """A datastore-relative path as messages show it (None: no path, the datastore as a whole)."""
    if rel is None:
        return ""
    return f" {rel!r}" if rel else " at the datastore root"


@contextmanager
def translate_errors(datastore: str, action: str, uri: str, rel: str | None = None) -> Iterator[None]:
    """Re-raise any backend error as ``DatastoreError`` naming ``datastore`` and ``rel`` (when given).

    Catches ``Exception`` on purpose: s3fs and adlfs let botocore/azure errors through, and none
    of them may leave a public method. Our own errors pass unchanged. An ``OSError`` is described
    by its reason only: its text holds the absolute path on the server.
    """
    try:
        yield
    except HeadraceError:
        raise
    except FileNotFoundError as exc:
        raise error_at(f"datastore {datastore!r}: cannot {action}{where(rel)}: not found", uri) from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise error_at(f"datastore {datastore!r}: cannot {action}{where(rel)}: {reason}", uri) from exc
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise error_at(f"datastore {datastore!r}: cannot {action}{where(rel)}: {detail}", uri) from exc


def _to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return _to_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def normalize_entry(entry: dict[str, Any], rel: str) -> FileInfo:
    """A ``FileInfo`` from one fsspec listing entry, whatever the backend's key spellings.

    Reads ``size``/``Size``, the first of ``mtime``/``last_modified``/``LastModified``/
    ``modified``/``created`` (as an aware UTC datetime) and ``etag``/``ETag`` (quotes stripped).
    """
    size = int(entry.get("size", entry.get("Size")) or 0)
    modified = next((_to_datetime(entry[k]) for k in _MTIME_KEYS if entry.get(k) is not None), None)
    etag = entry.get("etag", entry.get("ETag"))
    return FileInfo(rel, size, modified, (str(etag).strip('"') or None) if etag else None)
