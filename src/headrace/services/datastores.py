"""Datastore registration and lookup."""

from __future__ import annotations

import re
from pathlib import Path

from headrace import clock
from headrace.datastores.base import Datastore, FileInfo
from headrace.errors import AlreadyExistsError, ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.storage.records import DatastoreRecord

WEB_DATASTORE = "@web"
"""The built-in read-only datastore of files at http(s) URLs (``headrace.datastores.web``)."""

DEFAULT_DATASTORE = "workspaceblobstore"
"""The built-in datastore every workspace has; the default until ``set_default_datastore`` names another."""

DEFAULT_SETTING = "default_datastore"
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
    if name == WEB_DATASTORE:  # files at http(s) URLs, for datasets defined on URLs
        ds = svc.make_datastore(DatastoreRecord(name=name, kind="web", root_uri="https://", options={},
                                                created_at=clock.now()))
        with svc._lock:
            svc._datastores[name] = ds
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


def check_name(name: str) -> None:
    """Raises: ConfigError naming the rule when ``name`` is not a valid datastore name."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid datastore name {name!r}: use letters, digits, '_' and '-' (not starting with '-')"
        )


def register_local(svc: Services, name: str, path: str | Path) -> DatastoreRecord:
    """Register a local folder as a datastore (created if missing).

    A relative ``path`` is taken from the workspace's home (the server's, for a remote workspace),
    never from the current folder of whichever process registers it: the SDK, the server and the
    CLI then agree on where the datastore is.

    Raises:
        ConfigError: the name is not valid, or the folder cannot be used.
        AlreadyExistsError: the name is taken by another folder.
    """
    check_name(name)
    try:
        folder = _local_folder(svc, name, path)
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


def _local_folder(svc: Services, name: str, path: str | Path) -> Path:
    """The absolute folder ``path`` names: a relative one is taken from the home.

    Raises:
        ConfigError: no path, or the folder is the home or holds it.
        OSError, ValueError, RuntimeError: the path cannot be resolved.
    """
    if not str(path).strip():
        raise ConfigError(f"datastore {name!r} needs a folder path")
    home = Path(svc.home).expanduser().resolve()
    folder = (home / Path(path).expanduser()).resolve()  # an absolute path wins over the home
    if home == folder or home.is_relative_to(folder):
        raise ConfigError(f"cannot use {str(path)!r} as the folder of datastore {name!r}: it holds the workspace "
                          "home, whose config and database every reader of the datastore could then read; "
                          "choose a folder outside the home or under it")
    return folder


def ensure_default(svc: Services) -> DatastoreRecord:
    """Make sure ``workspaceblobstore`` exists (a folder in the home)."""
    return register_local(svc, DEFAULT_DATASTORE, Path("datastores") / DEFAULT_DATASTORE)


def default_datastore_name(svc: Services) -> str:
    """The workspace's default datastore: where ``PipelineData`` without a datastore goes."""
    return svc.store.get_setting(DEFAULT_SETTING) or DEFAULT_DATASTORE


def set_default_datastore(svc: Services, name: str) -> DatastoreRecord:
    """Make a registered datastore the workspace's default (``ws.set_default_datastore``).

    Pipelines submitted afterwards put their ``PipelineData`` there; runs already submitted keep theirs.

    Raises:
        NotFoundError: no such datastore; the message lists the registered ones.
    """
    if name == WEB_DATASTORE:
        raise ConfigError(f"{WEB_DATASTORE!r} is read-only and cannot be the default datastore")
    try:
        record = svc.store.get_datastore(name)
    except NotFoundError:
        known = ", ".join(r.name for r in svc.store.list_datastores()) or "none"
        raise NotFoundError("datastore", name, f"registered datastores: {known}") from None
    svc.store.set_setting(DEFAULT_SETTING, name)
    return record


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
    ds.uri(path)  # refuses escaping, over-long or too deep paths before the messages below quote them
    if not path.strip("/") or path.endswith("/"):
        raise ConfigError(f"invalid file path {path!r}: give a file path relative to the datastore root")
    if ds.exists(path):
        if ds.is_dir(path):
            raise ConfigError(f"{path!r} is a folder of datastore {name!r}; give a file path")
        if not overwrite:
            raise AlreadyExistsError("file", f"{name}:{path}", "pass overwrite=true to replace it")
    ds.write_bytes(path, data)
    return len(data)
