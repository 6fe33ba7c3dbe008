"""Datastores of a remote workspace, over the server's file routes.

``RemoteDatastore`` is a ``Datastore`` whose files live on the server: listing, reading, uploading
and downloading go through ``/api/v1/datastores/{name}/files``. ``SnapshotUploads`` is the artifact
store ``datastores.snapshots.store_snapshot`` writes to when a remote SDK submits a pipeline: it
answers ``exists`` with ``HEAD /snapshots/{hash}`` and uploads with ``PUT /snapshots/{hash}``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from headrace.client import HeadraceClient
from headrace.datastores.base import Datastore, FileInfo
from headrace.errors import AlreadyExistsError, DatastoreError, NotFoundError
from headrace.schemas.datastores import FileRead


def _info(f: FileRead) -> FileInfo:
    return FileInfo(path=f.Path, size=f.Size, modified=f.Modified, etag=f.Etag)


def _clean(path: str) -> str:
    return path.replace("\\", "/").strip("/")


class RemoteDatastore(Datastore):
    """A datastore registered on a headrace server; the server checks every path stays in its root.

    Args:
        client: the server's client.
        name: the registered name.
        root_uri: the datastore's root on the server's side (informative: ``uri`` names server paths).
    """

    def __init__(self, client: HeadraceClient, name: str, root_uri: str):
        self.client = client
        self.name = name
        self.root_uri = root_uri

    def __repr__(self) -> str:
        return f"RemoteDatastore(name={self.name!r}, server={self.client.url!r})"

    def uri(self, path: str = "") -> str:
        rel = _clean(path)
        return f"{self.root_uri}/{rel}" if rel else self.root_uri

    def local_path(self, path: str = "") -> str | None:
        return None

    # Files only travel over the API, so a folder exists when it holds a file (at any depth).
    def exists(self, path: str) -> bool:
        rel = _clean(path)
        return not rel or bool(self.client.list_files(self.name, rel, recursive=True))

    def is_dir(self, path: str) -> bool:
        rel = _clean(path)
        return not rel or any(f.Path != rel for f in self.client.list_files(self.name, rel, recursive=True))

    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        return [_info(f) for f in self.client.list_files(self.name, _clean(prefix), recursive=recursive)]

    def read_bytes(self, path: str) -> bytes:
        try:
            return self.client.read_file(self.name, _clean(path))
        except NotFoundError as exc:
            raise DatastoreError(f"datastore {self.name!r}: cannot read file: {exc}", uri=self.uri(path)) from exc

    def write_bytes(self, path: str, data: bytes) -> None:
        if not _clean(path):
            raise DatastoreError(f"datastore {self.name!r}: cannot write a file at the datastore root", uri=self.uri())
        self.client.write_file(self.name, _clean(path), data, overwrite=True)

    def upload(self, local_path: str, path: str, overwrite: bool = False) -> int:
        """Copy a local file or folder to ``path`` on the server; returns the bytes copied.

        Conflicts are checked before anything is written, as for a local datastore (two clients
        uploading at once may still both write).
        """
        rel = _clean(path)
        src = Path(local_path)
        if src.is_file():
            pairs = [(src, rel)]
        elif src.is_dir():
            files = sorted(p for p in src.rglob("*") if p.is_file())
            pairs = [(f, f"{rel}/{f.relative_to(src).as_posix()}" if rel else f.relative_to(src).as_posix())
                     for f in files]
        else:
            raise DatastoreError(f"datastore {self.name!r}: nothing to upload: no such local file or folder",
                                 uri=src.as_uri())
        if not overwrite:
            existing = {f.path for f in self.list(rel)}
            for _, target in pairs:
                if target in existing:
                    raise DatastoreError(f"datastore {self.name!r}: target exists; pass overwrite=True to replace it",
                                         uri=self.uri(target))
        total = 0
        for file, target in pairs:
            try:
                self.client.write_file(self.name, target, file.read_bytes(), overwrite=overwrite)
            except AlreadyExistsError as exc:
                raise DatastoreError(f"datastore {self.name!r}: target exists; pass overwrite=True to replace it",
                                     uri=self.uri(target)) from exc
            except OSError as exc:
                raise DatastoreError(f"cannot read {file}: {exc}", uri=file.as_uri()) from exc
            total += file.stat().st_size
        return total

    def download(self, path: str, local_path: str, overwrite: bool = True) -> int:
        """Copy the file or folder at ``path`` to ``local_path`` (a folder's files land under it)."""
        rel = _clean(path)
        dest = Path(local_path)
        listed = self.client.list_files(self.name, rel, recursive=True)
        if len(listed) == 1 and listed[0].Path == rel and rel:
            pairs = [(rel, dest)]
        elif listed:
            pairs = [(f.Path, dest / f.Path[len(rel):].lstrip("/")) for f in listed]
        else:
            raise DatastoreError(f"datastore {self.name!r}: nothing to download: not found", uri=self.uri(rel))
        if not overwrite:
            for _, target in pairs:
                if target.exists():
                    raise DatastoreError(f"datastore {self.name!r}: local file exists; pass overwrite=True to "
                                         "replace it", uri=target.as_uri())
        total = 0
        for remote, target in pairs:
            data = self.read_bytes(remote)
            _write_atomic(target, data)
            total += len(data)
        return total

    def delete(self, path: str) -> None:
        raise DatastoreError(f"datastore {self.name!r}: deleting files is not offered over the REST API",
                             uri=self.uri(path))


def _write_atomic(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".headrace-tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DatastoreError(f"cannot write {target}: {exc}", uri=target.as_uri()) from exc


_SNAPSHOT_KEY = re.compile(r"^snapshots/([0-9a-f]{64})\.tar\.gz$")


class SnapshotUploads(Datastore):
    """The server's snapshot store, as the artifact datastore ``store_snapshot`` expects.

    Only ``exists`` and ``upload`` of ``snapshots/<hash>.tar.gz`` are used (and offered).
    """

    name = "_snapshots"

    def __init__(self, client: HeadraceClient):
        self.client = client
        self.root_uri = f"{client.url}/api/v1"

    def _hash(self, path: str) -> str:
        m = _SNAPSHOT_KEY.match(path)
        if m is None:
            raise DatastoreError(f"the server's snapshot store only holds snapshots/<hash>.tar.gz, not {path!r}")
        return m.group(1)

    def uri(self, path: str = "") -> str:
        return f"{self.root_uri}/{path}" if path else self.root_uri

    def local_path(self, path: str = "") -> str | None:
        return None

    def exists(self, path: str) -> bool:
        return self.client.has_snapshot(self._hash(path))

    def upload(self, local_path: str, path: str, overwrite: bool = False) -> int:
        data = Path(local_path).read_bytes()
        self.client.put_snapshot(self._hash(path), data)
        return len(data)

    def is_dir(self, path: str) -> bool:
        return False

    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        raise DatastoreError("the server's snapshot store cannot be listed")

    def read_bytes(self, path: str) -> bytes:
        raise DatastoreError("the server's snapshot store cannot be read back")

    def write_bytes(self, path: str, data: bytes) -> None:
        self.client.put_snapshot(self._hash(path), data)

    def download(self, path: str, local_path: str, overwrite: bool = True) -> int:
        raise DatastoreError("the server's snapshot store cannot be read back")

    def delete(self, path: str) -> None:
        raise DatastoreError("the server's snapshot store cannot be changed")
