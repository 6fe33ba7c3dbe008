"""The datastore interface: a named root of files addressed by relative paths.

Implementations map relative paths under a root URI (``file:///...``, ``s3://bucket/prefix``,
``abfs://container/prefix``). Every path argument is relative to the root, uses ``/``, and is
rejected with ``PathEscapeError`` when it would leave the root.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from headrace.errors import DatastoreError


@dataclass(frozen=True)
class FileInfo:
    """One listed file. ``version`` is what changes when the content changes: the etag when
    the store has one, else ``"<mtime_ns>-<size>"``."""

    path: str  # relative to the datastore root, "/"-separated
    size: int
    modified: datetime | None
    etag: str | None

    @property
    def version(self) -> str:
        if self.etag:
            return self.etag
        stamp = int(self.modified.timestamp() * 1e9) if self.modified else 0
        return f"{stamp}-{self.size}"


class Datastore(ABC):
    """A named file store. Errors raised: ``DatastoreError`` (with ``.uri``), ``PathEscapeError``."""

    name: str
    root_uri: str

    @abstractmethod
    def uri(self, path: str = "") -> str:
        """The full URI of ``path`` (e.g. ``file:///home/x/ds/raw/a.csv``)."""

    @abstractmethod
    def local_path(self, path: str = "") -> str | None:
        """A local filesystem path for ``path`` when the store is local, else None."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file or folder exists at ``path``."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a folder (a prefix with files under it)."""

    @abstractmethod
    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        """Files under ``prefix`` (direct children only when not ``recursive``), sorted by path."""

    def versions(self, prefix: str = "", recursive: bool = True) -> dict[str, str]:
        """path -> version of the files ``list`` returns: what a datastore watch compares between
        polls. Stores may answer faster than ``list`` (versions are only compared with each other)."""
        return {info.path: info.version for info in self.list(prefix, recursive)}

    def sized_versions(self, prefix: str = "", recursive: bool = True) -> list[tuple[str, int, str]]:
        """``(path, size, version)`` of the files ``list`` returns, sorted by path, with versions spelled as
        ``versions`` spells them: what a dataset manifest records."""
        found = self.versions(prefix, recursive)
        return [(info.path, info.size, found.get(info.path, info.version)) for info in self.list(prefix, recursive)]

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """Raises: DatastoreError when missing or unreadable."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None:
        """Write (replace) a file, creating parent folders."""

    @abstractmethod
    def upload(self, local_path: str, path: str, overwrite: bool = False) -> int:
        """Copy a local file or folder to ``path``; returns the number of bytes copied.

        Raises:
            DatastoreError: target exists and ``overwrite`` is False.
        """

    @abstractmethod
    def download(self, path: str, local_path: str, overwrite: bool = True) -> int:
        """Copy a file or folder at ``path`` to ``local_path``; returns bytes copied."""

    def open(self, path: str, mode: str = "rb") -> BinaryIO:
        """A file object reading (``"rb"``) or writing (``"wb"``, replacing; parent folders made) ``path``, so a
        large file is streamed instead of held in memory. Stores that cannot stream raise.

        Raises:
            DatastoreError: the file cannot be opened, or this store cannot stream files.
        """
        raise DatastoreError(f"datastore {self.name!r} cannot stream files", uri=self.uri(path))

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove a file or folder (recursively); missing is not an error."""

    def check(self, create: bool = False) -> None:
        """Reach the root (bucket, container or folder), creating it first with ``create``.

        Used when a datastore is registered, so wrong credentials or a missing bucket are found then,
        not by the first step that uses it.

        Raises:
            DatastoreError: the root cannot be reached (or created).
        """
        self.list("", recursive=False)
