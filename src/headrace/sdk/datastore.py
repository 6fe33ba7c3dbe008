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
    def register_azure_blob_container(workspace: Any, datastore_name: str, container_name: str,
                                      account_name: str, sas_token: str | None = None,
                                      account_key: str | None = None, protocol: str | None = None,
                                      endpoint: str | None = None, overwrite: bool = False,
                                      create_if_not_exists: bool = False, skip_validation: bool = False,
                                      blob_cache_timeout: int | None = None, grant_workspace_access: bool = False,
                                      subscription_id: str | None = None,
                                      resource_group: str | None = None) -> Datastore:
        """Register an Azure Blob container (Azure ML's signature).

        ``endpoint`` is the storage DNS suffix (default ``core.windows.net``), or a full blob endpoint URL
        (``http://127.0.0.1:10000/devstoreaccount1`` for Azurite). With neither key nor SAS token the
        container is read anonymously. The credentials are encrypted at rest and never shown again.
        ``skip_validation``, ``blob_cache_timeout``, ``grant_workspace_access``, ``subscription_id`` and
        ``resource_group`` are accepted for compatibility; the container is always reached once to check it.

        Raises:
            DatastoreError: the container cannot be reached (wrong credentials, missing container).
            AlreadyExistsError: the name is taken and ``overwrite`` is False.

        Example:
            >>> Datastore.register_azure_blob_container(ws, "raw", "raw-data", "myaccount", account_key=key)
        """
        fields = {"container_name": container_name, "account_name": account_name, "sas_token": sas_token,
                  "account_key": account_key, "protocol": protocol, "endpoint": endpoint}
        workspace._backend.register_cloud_datastore(datastore_name, "azure_blob", fields, overwrite,
                                                    create_if_not_exists)
        return Datastore(workspace, datastore_name)

    @staticmethod
    def register_azure_data_lake_gen2(workspace: Any, datastore_name: str, filesystem: str, account_name: str,
                                      tenant_id: str | None = None, client_id: str | None = None,
                                      client_secret: str | None = None, resource_url: str | None = None,
                                      authority_url: str | None = None, protocol: str | None = None,
                                      endpoint: str | None = None, overwrite: bool = False,
                                      subscription_id: str | None = None, resource_group: str | None = None,
                                      grant_workspace_access: bool = False, *,
                                      account_key: str | None = None) -> Datastore:
        """Register an ADLS Gen2 file system (Azure ML's signature), reached through its blob API.

        Signs in with a service principal (``tenant_id``, ``client_id``, ``client_secret``), or, beyond Azure
        ML, an ``account_key`` (what emulators offer); with neither, anonymously.

        Raises:
            DatastoreError: the file system cannot be reached.
            AlreadyExistsError: the name is taken and ``overwrite`` is False.
        """
        fields = {"filesystem": filesystem, "account_name": account_name, "account_key": account_key,
                  "tenant_id": tenant_id, "client_id": client_id, "client_secret": client_secret,
                  "protocol": protocol, "endpoint": endpoint}
        workspace._backend.register_cloud_datastore(datastore_name, "adls_gen2", fields, overwrite, False)
        return Datastore(workspace, datastore_name)

    @staticmethod
    def register_s3(workspace: Any, datastore_name: str, bucket: str, endpoint_url: str | None = None,
                    key: str | None = None, secret: str | None = None, region: str | None = None,
                    prefix: str = "", overwrite: bool = False, create_if_not_exists: bool = False) -> Datastore:
        """Register an S3 bucket (or MinIO, or any S3-compatible store at ``endpoint_url``); beyond Azure ML.

        Without ``key`` and ``secret`` the standard AWS credentials apply (``AWS_ACCESS_KEY_ID``, profiles).

        Raises:
            DatastoreError: the bucket cannot be reached.
            AlreadyExistsError: the name is taken and ``overwrite`` is False.

        Example:
            >>> Datastore.register_s3(ws, "lake", "my-bucket", endpoint_url="http://127.0.0.1:9000",
            ...                       key="minio", secret="minio123")
        """
        fields = {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint_url, "key": key, "secret": secret,
                  "region": region}
        workspace._backend.register_cloud_datastore(datastore_name, "s3", fields, overwrite, create_if_not_exists)
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get(workspace: Any, datastore_name: str) -> Datastore:
        return Datastore(workspace, datastore_name)

    def unregister(self) -> None:
        """Remove this datastore's registration (its files stay where they are).

        Raises:
            ConfigError: it is the workspace's default datastore.
        """
        self.workspace._backend.unregister_datastore(self.name)

    def path(self, path_on_datastore: str = "", name: str | None = None):
        """A ``DataPath`` to ``path_on_datastore`` on this datastore."""
        from headrace.core.params import DataPath

        return DataPath(self, path_on_datastore, name=name)

    def upload_files(self, files: list[str | os.PathLike[str]], relative_root: str | None = None,
                     target_path: str | None = None, overwrite: bool = False,
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
