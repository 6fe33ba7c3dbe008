"""Datastore registration and lookup."""

from __future__ import annotations

import re
from pathlib import Path

from headrace import clock
from headrace.datastores.base import Datastore, FileInfo
from headrace.errors import AlreadyExistsError, ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.storage.records import DatastoreRecord

DEFAULT_DATASTORE = "workspaceblobstore"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,254}$")


def get_datastore(svc: Services, name: str) -> Datastore:
    """The datastore registered as ``name``.

    Raises:
        NotFoundError: no such datastore; the message lists the registered ones.
    """
    with svc._lock:
        ds = svc._datastores.get(name)
    if ds is not None:
        return ds
    try:
        record = svc.store.get_datastore(name)
    except NotFoundError:
        known = ", ".join(r.name for r in svc.store.list_datastores()) or "none"
        raise NotFoundError("datastore", name, f"registered datastores: {known}") from None
    ds = svc.make_datastore(record)
    with svc._lock:
        svc._datastores[name] = ds
    return ds


def register_local(svc: Services, name: str, path: str | Path) -> DatastoreRecord:
    """Register a local folder as a datastore (created if missing).

    Raises:
        ConfigError: the name is not valid.
        AlreadyExistsError: the name is taken by another folder.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid datastore name {name!r}: use letters, digits, '_' and '-' (not starting with '-')"
        )
    try:
        folder = Path(path).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot use {str(path)!r} as the folder of datastore {name!r}: {exc}") from exc
    try:
        existing = svc.store.get_datastore(name)
    except NotFoundError:
        existing = None
    if existing is not None:
        if existing.root_uri == folder.as_uri():
            return existing
        raise AlreadyExistsError("datastore", name, f"it points to {existing.root_uri}; choose another name")
    record = DatastoreRecord(name=name, kind="local", root_uri=folder.as_uri(), options={}, created_at=clock.now())
    return svc.store.create_datastore(record)


def ensure_default(svc: Services) -> DatastoreRecord:
    """Make sure ``workspaceblobstore`` exists (a folder in the home)."""
    return register_local(svc, DEFAULT_DATASTORE, svc.home / "datastores" / DEFAULT_DATASTORE)


def list_datastores(svc: Services) -> list[DatastoreRecord]:
    return svc.store.list_datastores()


def list_files(svc: Services, name: str, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
    """Files of a datastore under ``prefix``, sorted by path.

    Raises:
        NotFoundError: no such datastore.
        PathEscapeError: ``prefix`` leaves the datastore root.
    """
    return get_datastore(svc, name).list(prefix, recursive=recursive)


def read_file(svc: Services, name: str, path: str) -> bytes:
    """The bytes of one file.

    Raises:
        NotFoundError: no such datastore, or no file at ``path`` (a folder is not a file).
        PathEscapeError: ``path`` leaves the datastore root.
    """
    ds = get_datastore(svc, name)
    if not path or not ds.exists(path) or ds.is_dir(path):
        raise NotFoundError("file", f"{name}:{path}", "list the datastore's files to see what is there")
    return ds.read_bytes(path)


def write_file(svc: Services, name: str, path: str, data: bytes, overwrite: bool = False) -> int:
    """Write one file (parent folders are created); returns its size.

    The existence check and the write are two steps: two concurrent writers without ``overwrite``
    may both succeed, the last one winning.

    Raises:
        NotFoundError: no such datastore.
        AlreadyExistsError: a file is there and ``overwrite`` is False.
        ConfigError: an empty path or one naming a folder.
        PathEscapeError: ``path`` leaves the datastore root.
    """
    ds = get_datastore(svc, name)
    if not path.strip("/") or path.endswith("/"):
        raise ConfigError(f"invalid file path {path!r}: give a file path relative to the datastore root")
    if ds.exists(path):
        if ds.is_dir(path):
            raise ConfigError(f"{path!r} is a folder of datastore {name!r}; give a file path")
        if not overwrite:
            raise AlreadyExistsError("file", f"{name}:{path}", "pass overwrite=true to replace it")
    ds.write_bytes(path, data)
    return len(data)
