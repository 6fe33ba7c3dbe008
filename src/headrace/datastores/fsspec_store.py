"""A ``Datastore`` over any fsspec filesystem: ``file://``, ``memory://``, ``s3://``, ``abfs://``.

Backends spell listing details differently (``size``/``Size``, ``mtime``/``last_modified``/
``LastModified``, quoted ``etag``/``ETag``); ``fsspec_compat`` normalises them so callers only
see ``FileInfo``. Local files get their time from ``st_mtime_ns``, and local writes are atomic per file
(temp file + rename) and always move the file's mtime forward, so ``FileInfo.version`` changes on
every rewrite even within one clock tick. The ``memory://`` store has no modification time, so its
etag is the content's md5, as S3 reports for single-part uploads.

Every error from the backend (``OSError``, or a vendor SDK error from s3fs/adlfs) leaves as
``DatastoreError``: its message names the datastore and the path relative to it (never where the
datastore lives on the server), its ``uri`` attribute the full location.

On a local store every path is also checked once symbolic links are resolved: a link inside the
datastore may point elsewhere inside it, but nothing reads, writes, lists or stages through a link
that leaves it (``PathEscapeError``); listings leave such links out and never descend into links to
folders. Links are resolved when a call starts: a process that can create links in the folder
(a step, which runs as the server's OS user) could still swap one in between the check and the use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from fsspec.core import url_to_fs

from headrace.datastores.base import Datastore, FileInfo
from headrace.datastores.fsspec_compat import normalize_entry, translate_errors, where
from headrace.datastores.localfs import (
    TMP_PREFIX,
    atomic_local_write,
    datetime_from_ns,
    local_files,
    scan_files,
)
from headrace.datastores.paths import error_at, has_link_below, is_within, normalize_relpath
from headrace.errors import DatastoreError, PathEscapeError

STREAM_BLOCK_BYTES = 8 << 20
"""Bytes an object store's file buffers when streamed (``open``): one upload part or read-ahead block (s3fs's
default, 50 MiB, would hold most files whole; 8 MiB measured as fast as 16 in benchmarks/data_transfer.py)."""


class FsspecDatastore(Datastore):
    """A datastore rooted at an fsspec URL.

    Args:
        name: the datastore's name, used in error messages.
        root_uri: where the files live (``file:///data/ds``, ``memory://ds``, ``s3://bucket/pre``).
            A plain path is taken as a local folder.
        storage_options: keyword arguments for the fsspec filesystem (credentials, endpoint).

    Raises:
        DatastoreError: the URL's protocol is unknown or its package is not installed.

    Example:
        >>> ds = FsspecDatastore("scratch", "memory://example")
        >>> ds.write_bytes("raw/a.txt", b"hi")
        >>> [f.path for f in ds.list("raw")]
        ['raw/a.txt']
    """

    def __init__(self, name: str, root_uri: str, storage_options: dict[str, Any] | None = None):
        self.name = name
        with translate_errors(name, "open the root URL", root_uri):
            self._fs, root = url_to_fs(root_uri, **(storage_options or {}))
        self._root = root.rstrip("/")
        protocols = self._fs.protocol
        self._protocols = (protocols,) if isinstance(protocols, str) else tuple(protocols)
        self._local = "file" in self._protocols
        self._object_store = bool({"s3", "s3a", "abfs", "az", "gs", "gcs"} & set(self._protocols))
        if "://" in root_uri and not self._local:
            self.root_uri = root_uri.rstrip("/")
        else:
            self.root_uri = self._fs.unstrip_protocol(self._root or "/").rstrip("/")

    @classmethod
    def local(cls, name: str, folder: str | os.PathLike[str]) -> FsspecDatastore:
        """A datastore over a local folder, created when missing.

        Raises:
            DatastoreError: the folder cannot be created.
        """
        path = Path(folder).expanduser().resolve()
        with translate_errors(name, "create the datastore folder", path.as_uri()):
            path.mkdir(parents=True, exist_ok=True)
        return cls(name, path.as_uri())

    def __repr__(self) -> str:
        return f"FsspecDatastore(name={self.name!r}, root_uri={self.root_uri!r})"

    def check(self, create: bool = False) -> None:
        """See ``Datastore.check``: the bucket or container is made with ``create`` when missing."""
        bucket = (self._root or "/").split("/", 1)[0]
        if create and not self._local:
            with translate_errors(self.name, "create its bucket or container", self.root_uri):
                if not self._fs.exists(bucket):
                    self._fs.mkdir(bucket)
        with translate_errors(self.name, "reach its root", self.root_uri):
            try:
                self._fs.ls(self._root or "/" if self._local else bucket, detail=False)
            except FileNotFoundError:
                raise DatastoreError(f"datastore {self.name!r}: its bucket or container {bucket!r} does not exist "
                                     "(create_if_not_exists=True makes it)", uri=self.root_uri) from None

    # -- paths --------------------------------------------------------------------------------

    def _rel(self, path: str) -> str:
        """The checked relative path: lexically inside the root, and on a local store also once
        symbolic links are resolved (a link to ``/etc`` or to another folder is refused, one to a
        folder of the same datastore is fine)."""
        rel = normalize_relpath(path, datastore=self.name, root_uri=self.root_uri)
        if (rel and self._local and has_link_below(self._root, rel)
                and not is_within(os.path.realpath(self._full(rel)), self._real_root())):
            error = PathEscapeError(
                f"path {rel!r} is not allowed in datastore {self.name!r}: it goes through a symbolic link "
                "that leaves the datastore; links in a datastore may only point inside it")
            error.uri = self._uri(rel)
            raise error
        return rel

    def _real_root(self) -> str:
        """Where the root really is, links resolved; resolved on each call, so a root that is a link
        may be pointed elsewhere while the server runs."""
        return os.path.realpath(self._root or "/")

    def _uri(self, rel: str) -> str:
        return f"{self.root_uri}/{rel}" if rel else self.root_uri

    def _full(self, rel: str) -> str:
        if not rel:
            return self._root or "/"
        return f"{self._root}/{rel}"

    def _rel_of(self, full: str) -> str:
        return full.rstrip("/")[len(self._root) :].lstrip("/")

    def uri(self, path: str = "") -> str:
        return self._uri(self._rel(path))

    def local_path(self, path: str = "") -> str | None:
        rel = self._rel(path)
        if not self._local:
            return None
        return os.path.normpath(os.path.join(self._root or "/", *rel.split("/")))

    # -- queries ------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        rel = self._rel(path)
        with translate_errors(self.name, "check existence", self._uri(rel), rel):
            self._forget_cached(rel)
            return bool(self._fs.exists(self._full(rel)))

    def is_dir(self, path: str) -> bool:
        rel = self._rel(path)
        with translate_errors(self.name, "check for a folder", self._uri(rel), rel):
            self._forget_cached(rel)
            return bool(self._fs.isdir(self._full(rel)))

    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        rel = self._rel(prefix)
        full = self._full(rel)
        with translate_errors(self.name, "list files", self._uri(rel), rel):
            self._forget_cached(rel)
            if self._local and os.path.isdir(full):
                files = scan_files(full, rel, recursive, self._real_root())
                files.sort()
                return [FileInfo(path, size, datetime_from_ns(ns), None) for path, size, ns in files]
            if self._fs.isfile(full):
                entries = [self._fs.info(full)]
            elif not self._fs.isdir(full):
                return []
            elif recursive:
                entries = list(self._fs.find(full, withdirs=False, detail=True).values())
            else:
                entries = self._fs.ls(full, detail=True)
            infos = [self._file_info(e) for e in entries if self._is_file_entry(e)]
        return sorted((i for i in infos if i is not None), key=lambda info: info.path)

    def versions(self, prefix: str = "", recursive: bool = True) -> dict[str, str]:
        rel = self._rel(prefix)
        full = self._full(rel)
        if self._local and os.path.isdir(full):
            # Exact nanosecond stamps, and no FileInfo or datetime per file: 100,000 files in ~0.5 s.
            with translate_errors(self.name, "list files", self._uri(rel), rel):
                found = scan_files(full, rel, recursive, self._real_root())
                return {path: f"{ns}-{size}" for path, size, ns in found}
        if self._local and os.path.isfile(full) and not os.path.basename(full).startswith(TMP_PREFIX):
            # One file: the same exact stamp a folder scan gives it (FileInfo keeps microseconds only).
            with translate_errors(self.name, "read file", self._uri(rel), rel):
                st = os.stat(full)
            return {rel: f"{st.st_mtime_ns}-{st.st_size}"}
        return super().versions(prefix, recursive)

    def sized_versions(self, prefix: str = "", recursive: bool = True) -> list[tuple[str, int, str]]:
        rel = self._rel(prefix)
        full = self._full(rel)
        if self._local and os.path.isdir(full):  # one scan, no FileInfo per file
            with translate_errors(self.name, "list files", self.uri(rel)):
                return sorted((path, size, f"{ns}-{size}") for path, size, ns in scan_files(full, rel, recursive))
        if self._local and os.path.isfile(full):
            return [(path, int(version.rsplit("-", 1)[1]), version) for path, version in self.versions(prefix).items()]
        return [(i.path, i.size, i.version) for i in self.list(prefix, recursive)]

    def _forget_cached(self, rel: str) -> None:
        """Drop s3fs/adlfs cached listings: another process may have written since."""
        if not self._local:
            self._fs.invalidate_cache(self._full(rel))

    def _is_file_entry(self, entry: dict[str, Any]) -> bool:
        name = str(entry.get("name", ""))
        if entry.get("type") != "file" or name.endswith("/"):
            return False
        return not (self._local and os.path.basename(name).startswith(TMP_PREFIX))

    def _file_info(self, entry: dict[str, Any]) -> FileInfo | None:
        """Normalise one listing entry; None when a local file vanished since it was listed."""
        name = str(entry["name"])
        if self._local:
            try:
                st = os.stat(name)
            except FileNotFoundError:
                return None
            return FileInfo(self._rel_of(name), st.st_size, datetime_from_ns(st.st_mtime_ns), None)
        info = normalize_entry(entry, self._rel_of(name))
        if info.etag is None and "memory" in self._protocols:
            etag = hashlib.md5(self._fs.cat_file(name), usedforsecurity=False).hexdigest()
            info = FileInfo(info.path, info.size, info.modified, etag)
        return info

    # -- single files -------------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes:
        rel = self._rel(path)
        with translate_errors(self.name, "read file", self._uri(rel), rel):
            return bytes(self._fs.cat_file(self._full(rel)))

    def write_bytes(self, path: str, data: bytes) -> None:
        rel = self._rel(path)
        if not rel:
            raise error_at(f"datastore {self.name!r}: cannot write a file at the datastore root", self._uri(""))
        full = self._full(rel)
        with translate_errors(self.name, "write file", self._uri(rel), rel):
            if self._local:
                atomic_local_write(lambda tmp: Path(tmp).write_bytes(data), full)
            else:
                self._fs.pipe_file(full, data)

    def open(self, path: str, mode: str = "rb") -> BinaryIO:
        """See ``Datastore.open``."""
        rel = self._rel(path)
        if mode not in ("rb", "wb") or (mode == "wb" and not rel):
            raise error_at(f"datastore {self.name!r}: cannot open {rel or 'the root'!r} with mode {mode!r}",
                           self._uri(rel))
        full = self._full(rel)
        with translate_errors(self.name, "open file", self._uri(rel), rel):
            if self._local:
                if mode == "wb":
                    os.makedirs(os.path.dirname(full), exist_ok=True)
                return self._fs.open(full, mode)
            # s3fs buffers 50 MiB per file by default: a bounded block keeps a streamed copy small in memory.
            return self._fs.open(full, mode, block_size=STREAM_BLOCK_BYTES)

    def delete(self, path: str) -> None:
        rel = self._rel(path)
        full = self._full(rel)
        with translate_errors(self.name, "delete", self._uri(rel), rel):
            if self._fs.exists(full):
                self._fs.rm(full, recursive=True)

    # -- copies -------------------------------------------------------------------------------

    def upload(self, local_path: str, path: str, overwrite: bool = False) -> int:
        """Copy a local file or folder to ``path``; returns the number of bytes copied.

        A folder upload merges into ``path``: files already there and not in the source stay.
        Conflicts are checked before anything is written.

        Raises:
            DatastoreError: the source is missing; ``overwrite`` is False and the target file
                (or, for a folder, any file it would write) exists; a file would replace a folder
                or a folder a file.
        """
        rel = self._rel(path)
        src = Path(local_path)
        with translate_errors(self.name, "upload", self._uri(rel), rel):
            if src.is_file():
                pairs = [(src, rel)]
            elif src.is_dir():
                pairs = [(f, _join(rel, f.relative_to(src).as_posix())) for f in local_files(src)]
            else:
                raise DatastoreError(
                    f"datastore {self.name!r}: nothing to upload: no such local file or folder",
                    uri=src.as_uri(),
                )
            for _, target in pairs:
                self._rel(target)  # a sub-folder of the target may be a link that leaves the datastore
            self._check_upload_targets(src, rel, pairs, overwrite)
            total = 0
            for file, target in pairs:
                total += self._put_file(file, target)
            return total

    def _check_upload_targets(
        self, src: Path, rel: str, pairs: list[tuple[Path, str]], overwrite: bool
    ) -> None:
        fs = self._fs
        # Object stores hold keys: a file and a "folder" of the same name coexist, so only local
        # stores need these checks (each costs a request per file on a cloud store).
        if self._local and src.is_file() and fs.isdir(self._full(rel)):
            raise DatastoreError(
                f"datastore {self.name!r}: cannot upload a file over a folder", uri=self.uri(rel)
            )
        if self._local and src.is_dir() and rel and fs.isfile(self._full(rel)):
            raise DatastoreError(
                f"datastore {self.name!r}: cannot upload a folder over a file", uri=self.uri(rel)
            )
        if overwrite:
            return
        for _, target in pairs:
            if fs.exists(self._full(target)):
                raise error_at(
                    f"datastore {self.name!r}: target{where(target)} exists; pass overwrite=True to replace it",
                    self._uri(target),
                )

    def _put_file(self, file: Path, rel: str) -> int:
        full = self._full(rel)
        if self._local:
            atomic_local_write(lambda tmp: shutil.copyfile(file, tmp), full)
        else:
            self._fs.put_file(str(file), full)
        return file.stat().st_size

    def download(self, path: str, local_path: str, overwrite: bool = True) -> int:
        """Copy the file or folder at ``path`` to ``local_path``; returns bytes copied.

        A file lands exactly at ``local_path``; a folder's files land under it. Each local file
        is written atomically.

        Raises:
            DatastoreError: ``path`` is missing, or ``overwrite`` is False and a local file
                would be replaced.
        """
        rel = self._rel(path)
        dest = Path(local_path)
        with translate_errors(self.name, "download", self._uri(rel), rel):
            full = self._full(rel)
            if self._object_store and overwrite and rel:
                single = self._download_one(full, dest)  # one request for a file, the usual case
                if single is not None:
                    return single
            if self._fs.isfile(full):
                pairs = [(full, dest)]
            elif self._fs.isdir(full):
                pairs = [(self._full(i.path), dest / _relative_to(i.path, rel)) for i in self.list(rel)]
                dest.mkdir(parents=True, exist_ok=True)
            else:
                raise error_at(f"datastore {self.name!r}: nothing to download{where(rel)}: not found",
                               self._uri(rel))
            if not overwrite:
                for _, target in pairs:
                    if target.exists():
                        raise DatastoreError(
                            f"datastore {self.name!r}: local file exists; pass overwrite=True to replace it",
                            uri=target.as_uri(),
                        )
            total = 0
            for remote, target in pairs:
                atomic_local_write(lambda tmp, remote=remote: self._fs.get_file(remote, tmp), str(target))
                total += target.stat().st_size
            return total


    def _download_one(self, full: str, dest: Path) -> int | None:
        """Get ``full`` as one file; None when it is not one (a folder, or nothing)."""
        try:
            atomic_local_write(lambda tmp: self._fs.get_file(full, tmp), str(dest))
        except (FileNotFoundError, IsADirectoryError):
            return None
        return dest.stat().st_size


def _join(rel: str, child: str) -> str:
    return f"{rel}/{child}" if rel else child


def _relative_to(rel: str, prefix: str) -> str:
    return rel[len(prefix) :].lstrip("/") if prefix else rel
