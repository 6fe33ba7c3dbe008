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
from headrace.errors import DatastoreError, HeadraceError

_MTIME_KEYS = ("mtime", "last_modified", "LastModified", "modified", "created")


@contextmanager
def translate_errors(datastore: str, action: str, uri: str) -> Iterator[None]:
    """Re-raise any backend error as ``DatastoreError``.

    Catches ``Exception`` on purpose: s3fs and adlfs let botocore/azure errors through, and none
    of them may leave a public method. Our own errors pass unchanged.
    """
    try:
        yield
    except HeadraceError:
        raise
    except FileNotFoundError as exc:
        raise DatastoreError(f"datastore {datastore!r}: cannot {action}: not found", uri=uri) from exc
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise DatastoreError(f"datastore {datastore!r}: cannot {action}: {detail}", uri=uri) from exc


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
