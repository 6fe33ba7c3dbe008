"""What ``Dataset`` objects need from a workspace: the dataset services, in process or over REST.

An embedded workspace calls ``headrace.services.datasets`` directly; a remote one calls the server's
``/api/v1/datasets`` routes and reads files through the datastore file routes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from headrace.core.dataset import ManifestEntry, local_paths
from headrace.errors import ConfigError
from headrace.services import datasets as svc_datasets
from headrace.services.datastores import WEB_DATASTORE, get_datastore
from headrace.storage.dataset_records import DatasetRecord


class LocalDatasets:
    """Datasets of an embedded workspace."""

    def __init__(self, svc: Any):
        self.svc = svc

    def resolve(self, definition: dict[str, Any]) -> list[ManifestEntry]:
        return svc_datasets.resolve(self.svc, definition)

    def register(self, definition: dict[str, Any], **options: Any) -> DatasetRecord:
        return svc_datasets.register(self.svc, definition, **options)

    def get_version(self, name: str, version: Any) -> DatasetRecord:
        return svc_datasets.get_version(self.svc, name, version)

    def save(self, definition: dict[str, Any]) -> DatasetRecord:
        return self.svc.store.get_dataset(svc_datasets.pin(self.svc, {"definition": definition})["id"])

    def get_by_id(self, dataset_id: str) -> DatasetRecord:
        return self.svc.store.get_dataset(dataset_id)

    def list(self) -> list[DatasetRecord]:
        return self.svc.store.list_datasets()

    def update(self, dataset_id: str, **changes: Any) -> DatasetRecord:
        return self.svc.store.update_dataset(dataset_id, **changes)

    def unregister(self, name: str) -> None:
        self.svc.store.delete_dataset_name(name)

    def verified(self, record: DatasetRecord) -> list[ManifestEntry]:
        return svc_datasets.verified(self.svc, record)

    def download(self, definition: dict[str, Any], entries: Sequence[ManifestEntry], target: str) -> list[str]:
        return svc_datasets.download(self.svc, definition, entries, target)

    def read_bytes(self, entry: ManifestEntry) -> bytes:
        return get_datastore(self.svc, entry.datastore).read_bytes(entry.path)


def _record(wire: Any) -> DatasetRecord:
    return DatasetRecord(id=wire.Id, name=wire.Name, version=wire.Version, kind=wire.Kind, definition=wire.Definition,
                         manifest="", file_count=wire.FileCount, total_bytes=wire.TotalBytes,
                         description=wire.Description, tags=dict(wire.Tags), created_at=wire.CreatedTime,
                         created_by_run=wire.CreatedByRun)


def _entry(wire: Any) -> ManifestEntry:
    return ManifestEntry(wire.Datastore, wire.Path, wire.Size, wire.Version)


class RemoteDatasets:
    """Datasets of a server, over its REST API."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.client = backend.client

    def resolve(self, definition: dict[str, Any]) -> list[ManifestEntry]:
        return [_entry(f) for f in self.client.resolve_dataset(definition)]

    def register(self, definition: dict[str, Any], *, name: str, **options: Any) -> DatasetRecord:
        return _record(self.client.register_dataset(name, definition, **options))

    def get_version(self, name: str, version: Any) -> DatasetRecord:
        return _record(self.client.get_dataset(name, "latest" if version is None else version))

    def save(self, definition: dict[str, Any]) -> DatasetRecord:
        return _record(self.client.save_dataset(definition))

    def get_by_id(self, dataset_id: str) -> DatasetRecord:
        return _record(self.client.get_dataset_version(dataset_id))

    def list(self) -> list[DatasetRecord]:
        return [_record(d) for d in self.client.list_datasets()]

    def update(self, dataset_id: str, **changes: Any) -> DatasetRecord:
        return _record(self.client.update_dataset(dataset_id, **changes))

    def unregister(self, name: str) -> None:
        self.client.unregister_dataset(name)

    def verified(self, record: DatasetRecord) -> list[ManifestEntry]:
        return [_entry(f) for f in self.client.dataset_files(record.id)]

    def download(self, definition: dict[str, Any], entries: Sequence[ManifestEntry], target: str) -> list[str]:
        local = []
        for e, rel in zip(entries, local_paths(definition["sources"], entries), strict=True):
            dest = os.path.join(target, *rel.split("/"))
            self._store(e.datastore).download(e.path, dest)
            local.append(dest)
        return local

    def read_bytes(self, entry: ManifestEntry) -> bytes:
        return self._store(entry.datastore).read_bytes(entry.path)

    def _store(self, name: str) -> Any:
        # Files at http(s) URLs are read from here, as the server would: no server route serves them.
        if name == WEB_DATASTORE:
            from headrace.datastores.web import WebFiles

            return WebFiles()
        return self.backend.datastore(name)


def datasets_of(workspace: Any) -> Any:
    """The dataset backend of a workspace: in process when embedded, over REST when remote, the staged files
    of a step's direct-mode input inside a step."""
    staged = getattr(workspace, "_staged", None)
    if staged is not None:
        return staged
    backend = workspace._backend
    svc = getattr(backend, "svc", None)
    if svc is not None:
        return LocalDatasets(svc)
    if getattr(backend, "client", None) is not None:
        return RemoteDatasets(backend)
    raise ConfigError(f"{type(backend).__name__} serves no datasets")


class StagedDatasets:
    """A dataset input's files as staged in a step's folder: what a direct-mode input reads in the step."""

    def __init__(self, folder: str):
        self.folder = folder
        self.svc = None

    def _files(self) -> list[ManifestEntry]:
        found = []
        for root, _, names in os.walk(self.folder):
            for n in names:
                full = os.path.join(root, n)
                found.append(ManifestEntry("staged", os.path.relpath(full, self.folder).replace(os.sep, "/"),
                                           os.path.getsize(full), ""))
        return sorted(found, key=lambda e: e.path)

    def resolve(self, definition: dict[str, Any]) -> list[ManifestEntry]:
        return self._files()

    def verified(self, record: DatasetRecord) -> list[ManifestEntry]:
        return self._files()  # checked against the pinned version when the step was staged

    def read_bytes(self, entry: ManifestEntry) -> bytes:
        with open(os.path.join(self.folder, entry.path), "rb") as f:
            return f.read()

    def download(self, definition: dict[str, Any], entries: Sequence[ManifestEntry], target: str) -> list[str]:
        import shutil

        local = []
        for e in entries:
            dest = os.path.join(target, *e.path.split("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(self.folder, e.path), dest)
            local.append(dest)
        return local

    def __getattr__(self, name: str) -> Any:
        raise ConfigError(f"a dataset input inside a step reads its staged files; {name} needs the workspace")


class StagedWorkspace:
    """The stand-in workspace of a direct-mode dataset input inside a step."""

    def __init__(self, folder: str):
        self._backend = None
        self._staged = StagedDatasets(folder)
