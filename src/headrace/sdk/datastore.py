"""``Datastore``: named storage for pipeline data (the default one is ``workspaceblobstore``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from headrace.datastores.base import FileInfo
from headrace.errors import DatastoreError


class Datastore:
    """A registered datastore of a workspace.

    Args:
        workspace: the workspace.
        name: the registered name.

    Raises:
        NotFoundError: no datastore of that name (the message lists the registered ones).

    Example:
        >>> ds = Datastore(ws, "workspaceblobstore")
        >>> ds.upload_files(["data.csv"], target_path="raw", overwrite=True)
    """

    def __init__(self, workspace: Any, name: str):
        self.workspace = workspace
        self.name = name
        self._impl = workspace._backend.datastore(name)  # raises NotFoundError listing the registered ones
        self._record = workspace._backend.datastore_record(name)

    @property
    def datastore_type(self) -> str:
        return self._record.kind

    @property
    def root_uri(self) -> str:
        return self._record.root_uri

    @staticmethod
    def register_local(workspace: Any, name: str | None = None, path: str | os.PathLike[str] | None = None,
                       *, datastore_name: str | None = None) -> Datastore:
        """Register a local folder as a datastore (the folder is created if missing).

        A relative ``path`` is taken from the workspace's home (the server's, for a remote
        workspace), not from the current folder; the home itself and folders holding it are refused.
        """
        name = name or datastore_name
        if not name or path is None:
            raise DatastoreError("register_local needs a datastore name and a folder path")
        workspace._backend.register_local_datastore(name, str(path))
        return Datastore(workspace, name)

    @staticmethod
    def get(workspace: Any, datastore_name: str) -> Datastore:
        return Datastore(workspace, datastore_name)

    def path(self, path_on_datastore: str = "", name: str | None = None):
        """A ``DataPath`` to ``path_on_datastore`` on this datastore."""
        from headrace.core.params import DataPath

        return DataPath(self, path_on_datastore, name=name)

    def upload_files(self, files: list[str | os.PathLike[str]], target_path: str | None = None,
                     overwrite: bool = False, relative_root: str | None = None,
                     show_progress: bool = False) -> list[str]:
        """Upload local files; returns their paths on the datastore.

        Each file goes to ``target_path/<path relative to relative_root>`` (default: its file name).
        """
        done = []
        for f in files:
            local = Path(f)
            if not local.is_file():
                raise DatastoreError(f"cannot upload {local}: not a file")
            rel = local.resolve().relative_to(Path(relative_root).resolve()).as_posix() if relative_root \
                else local.name
            dest = f"{target_path.strip('/')}/{rel}" if target_path else rel
            self._impl.upload(str(local), dest, overwrite=overwrite)
            if show_progress:
                print(f"uploaded {local} -> {self.name}/{dest}")
            done.append(dest)
        return done

    def upload(self, src_dir: str | os.PathLike[str], target_path: str | None = None,
               overwrite: bool = False, show_progress: bool = False) -> int:
        """Upload a local folder's files under ``target_path``; returns bytes copied."""
        src = Path(src_dir)
        if not src.is_dir():
            raise DatastoreError(f"cannot upload {src}: not a folder")
        size = 0
        for file in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = file.relative_to(src).as_posix()
            dest = f"{target_path.strip('/')}/{rel}" if target_path else rel
            size += self._impl.upload(str(file), dest, overwrite=overwrite)
            if show_progress:
                print(f"uploaded {file} -> {self.name}/{dest}")
        return size

    def download(self, target_path: str | os.PathLike[str], prefix: str | None = None,
                 overwrite: bool = False, show_progress: bool = False) -> int:
        """Download the files under ``prefix`` into the local folder ``target_path``; returns the count."""
        count = 0
        for info in self._impl.list(prefix or "", recursive=True):
            dest = Path(target_path) / info.path
            if dest.exists() and not overwrite:
                raise DatastoreError(f"{dest} exists; pass overwrite=True to replace it")
            self._impl.download(info.path, str(dest))
            count += 1
            if show_progress:
                print(f"downloaded {self.name}/{info.path} -> {dest}")
        return count

    def list(self, prefix: str = "", recursive: bool = True) -> list[FileInfo]:
        """Files under ``prefix`` with size, modification time and etag."""
        return self._impl.list(prefix, recursive=recursive)

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, root={self.root_uri!r})"
