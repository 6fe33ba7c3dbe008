"""What ``Dataset`` objects need from a workspace: the dataset services, in process.

An embedded workspace calls ``headrace.services.datasets`` directly. A remote workspace does not serve
datasets yet: it says so, naming what works instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headrace.core.dataset import ManifestEntry
from headrace.errors import ConfigError
from headrace.services import datasets as svc_datasets
from headrace.services.datastores import get_datastore
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


def datasets_of(workspace: Any) -> LocalDatasets:
    """The dataset backend of a workspace.

    Raises:
        ConfigError: a remote workspace (datasets are served only by embedded workspaces for now).
    """
    svc = getattr(workspace._backend, "svc", None)
    if svc is None:
        raise ConfigError("datasets are not served over a remote workspace yet: use them from an embedded "
                          "workspace (Workspace(home) or --home) on the server's machine")
    return LocalDatasets(svc)
